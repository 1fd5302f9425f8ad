//! Processor accounting: `/proc` texts as Linux writes them, the report's arithmetic, and a
//! clock read on this very machine.

use std::time::{Duration, Instant};

use switchboard_loadtest::cpu::{CpuClock, MachineTimes, process_ticks, report};

const STAT: &str = "cpu  1000 50 300 8000 100 0 20 130 0 0
cpu0 500 25 150 4000 50 0 10 65 0 0
cpu1 500 25 150 4000 50 0 10 65 0 0
intr 12345 0 0
ctxt 987654
cpuidle 1 2 3
";

#[test]
fn the_machine_line_gives_busy_steal_total_and_the_cores() {
    let times = MachineTimes::parse(STAT).expect("parsed");
    // user + nice + system + irq + softirq; idle and iowait count only in the total.
    assert_eq!(times.busy, 1000 + 50 + 300 + 20);
    assert_eq!(times.steal, 130);
    assert_eq!(times.total, 1370 + 8000 + 100 + 130);
    // `cpuidle` is not a core.
    assert_eq!(times.cores, 2);
    assert_eq!(MachineTimes::parse("intr 1 2\n"), None);
}

#[test]
fn a_process_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
    let stat = "4242 (tokio (worker) 1) S 1 4242 4242 0 -1 4194560 900 0 0 0 731 269 0 0 20 0 \
                9 0 1234 5678 90 18446744073709551615";
    assert_eq!(process_ticks(stat), Some(731 + 269));
    assert_eq!(process_ticks("4242 (truncated"), None);
}

#[test]
fn percentages_are_of_one_core_and_per_operation_figures_divide_by_the_operations() {
    let before = MachineTimes {
        busy: 10_000,
        steal: 500,
        total: 40_000,
        cores: 2,
    };
    // Ten seconds of a two-core machine: 2,000 ticks, of which 1,500 busy and 200 stolen.
    let after = MachineTimes {
        busy: 11_500,
        steal: 700,
        total: 42_000,
        cores: 2,
    };
    let cpu = report(before, after, 10.0, 150, Some(700), 10_000);
    assert!((cpu.machine_busy_percent - 150.0).abs() < 1e-9, "{cpu:?}");
    assert!((cpu.machine_steal_percent - 20.0).abs() < 1e-9, "{cpu:?}");
    assert_eq!(cpu.server_percent, Some(70.0));
    assert!((cpu.harness_percent - 15.0).abs() < 1e-9, "{cpu:?}");
    // 15 core-seconds over 10,000 operations.
    assert_eq!(cpu.machine_ms_per_operation, Some(1.5));
    assert_eq!(cpu.server_ms_per_operation, Some(0.7));
    assert_eq!(cpu.harness_ms_per_operation, Some(0.15));

    let idle = report(before, before, 1.0, 0, None, 0);
    assert_eq!(idle.machine_busy_percent, 0.0);
    assert_eq!(idle.server_percent, None);
    assert_eq!(
        idle.machine_ms_per_operation, None,
        "no operations, no division"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_clock_on_this_machine_sees_the_work_done_while_it_ran() {
    // This test process stands in for the server as well as being the harness.
    let clock = CpuClock::start(Some(std::process::id())).expect("/proc is readable");
    let started = Instant::now();
    let mut spin: u64 = 0;
    while started.elapsed() < Duration::from_millis(300) {
        spin = std::hint::black_box(spin.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
    }
    let cpu = clock.finish(3).expect("report");
    assert!(cpu.wall_secs >= 0.3, "{cpu:?}");
    assert!(cpu.cores >= 1);
    // 300 ms of spinning is at least 20 ticks of 10 ms, whatever else the machine does.
    assert!(
        cpu.harness_percent > 0.0 && cpu.server_percent > Some(0.0),
        "{cpu:?}"
    );
    assert!(cpu.machine_busy_percent > 0.0, "{cpu:?}");
    assert!(cpu.harness_ms_per_operation > Some(0.0), "{cpu:?}");
    let gone = CpuClock::start(Some(u32::MAX)).expect("/proc is readable");
    assert_eq!(gone.finish(1).expect("report").server_percent, None);
}
