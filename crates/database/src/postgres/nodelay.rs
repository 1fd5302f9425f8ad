//! Nagle's algorithm off (`TCP_NODELAY`) on the connections to PostgreSQL, which sqlx leaves
//! it on for. Over TLS that costs 40 ms on every statement longer than one TLS record
//! (16 KiB): sqlx writes each record with a write of its own, so the kernel holds the second
//! back until the server acknowledges the first, and the server, with nothing to answer before
//! the statement is whole, delays that acknowledgement by 40 ms. Batches of webhooks and of
//! inbox messages are often longer than a record.
//!
//! sqlx does not hand out its sockets. So once a connection is open, the option is set on
//! every TCP socket of this process connected to the server's port, reached through a pidfd
//! (`pidfd_getfd` duplicates a descriptor; the socket and its options are shared). Where that
//! is refused (before Linux 5.6, or in a sandbox), connections work as before, slower.

use std::net::SocketAddr;

/// Sets `TCP_NODELAY` on this process's TCP sockets connected to `port`; returns how many.
#[cfg(target_os = "linux")]
pub(crate) fn set_on_sockets_to(port: u16) -> std::io::Result<usize> {
    use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};

    let process = pidfd_open(getpid(), PidfdFlags::empty())?;
    let mut set = 0;
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let Some(descriptor) = entry?
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        // Closed meanwhile, or not a connected socket: none of ours.
        let Ok(socket) = pidfd_getfd(&process, descriptor, PidfdGetfdFlags::empty()) else {
            continue;
        };
        let Ok(Some(peer)) = rustix::net::getpeername(&socket) else {
            continue;
        };
        if SocketAddr::try_from(peer).is_ok_and(|peer| peer.port() == port) {
            rustix::net::sockopt::set_tcp_nodelay(&socket, true)?;
            set += 1;
        }
    }
    Ok(set)
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn set_on_sockets_to(_port: u16) -> std::io::Result<usize> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn sockets_connected_to_the_port_lose_nagle_and_others_keep_it() -> std::io::Result<()> {
        let server = TcpListener::bind("127.0.0.1:0")?;
        let other = TcpListener::bind("127.0.0.1:0")?;
        let to_server = TcpStream::connect(server.local_addr()?)?;
        let to_other = TcpStream::connect(other.local_addr()?)?;
        assert!(!to_server.nodelay()?, "Nagle is on by default");

        let set = super::set_on_sockets_to(server.local_addr()?.port())?;

        assert_eq!(set, 1);
        assert!(to_server.nodelay()?);
        assert!(!to_other.nodelay()?);
        Ok(())
    }
}
