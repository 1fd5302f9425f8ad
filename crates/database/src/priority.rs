//! Background priority for the threads that do deferred work (storing accepted messages, agent
//! turns, replies). When the machine is saturated, the operating system then runs what someone
//! is waiting on first — a webhook's acknowledgement above all — and the deferred work takes
//! the time left over, waiting durably in the queue meanwhile.

/// Lowers the calling thread's scheduling priority to `nice` (0 leaves it; 19 is the lowest).
/// Linux only: its nice value is a per-thread attribute, where elsewhere it would lower the
/// whole process. A failure is logged and changes nothing else.
pub fn lower_current_thread(nice: i32) {
    if nice <= 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::process::setpriority_process(None, nice) {
        tracing::warn!(%error, nice, "could not lower a background thread's priority");
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use rustix::process::getpriority_process;

    #[test]
    fn only_the_calling_thread_is_lowered() -> Result<(), Box<dyn std::error::Error>> {
        let before = getpriority_process(None)?;
        let lowered = std::thread::spawn(move || {
            super::lower_current_thread((before + 5).min(19));
            getpriority_process(None)
        })
        .join()
        .map_err(|_| "the thread panicked")??;
        assert_eq!(lowered, (before + 5).min(19));
        assert_eq!(
            getpriority_process(None)?,
            before,
            "this thread keeps its own"
        );
        Ok(())
    }
}
