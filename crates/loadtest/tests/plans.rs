//! Quantities on the command line and the load the profiles resolve to.

use std::time::Duration;

use switchboard_loadtest::plan::{LoadModel, LoadOverrides, Profile, resolve};
use switchboard_loadtest::quantity::{
    Stage, parse_duration, parse_percent, parse_rate, parse_stage,
};

#[test]
fn durations_rates_percentages_and_stages_parse() {
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
    assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
    assert!(parse_duration("soon").is_err());
    assert!(parse_duration("10x").is_err());
    assert_eq!(parse_rate("1000/s"), Ok(1000.0));
    assert_eq!(parse_rate("2.5k/s"), Ok(2500.0));
    assert_eq!(parse_rate("600/m"), Ok(10.0));
    assert!(parse_rate("0/s").is_err());
    assert_eq!(parse_percent("20%"), Ok(0.2));
    assert_eq!(parse_percent("0.05"), Ok(0.05));
    assert_eq!(
        parse_stage("30s:100"),
        Ok(Stage {
            duration: Duration::from_secs(30),
            target: 100
        })
    );
    assert!(parse_stage("30s").is_err());
}

#[test]
fn profiles_have_the_issue_defaults_and_flags_override_them() {
    let none = LoadOverrides::default();
    let smoke = resolve(Profile::Smoke, &none).expect("closed");
    assert_eq!(
        (smoke.peak_vus(), smoke.duration()),
        (1, Duration::from_secs(30))
    );
    let average = resolve(Profile::Average, &none).expect("closed");
    assert_eq!(
        (average.peak_vus(), average.duration()),
        (10, Duration::from_secs(300))
    );
    let stress = resolve(Profile::Stress, &none).expect("closed");
    assert_eq!(
        (stress.peak_vus(), stress.duration()),
        (50, Duration::from_secs(600))
    );
    let soak = resolve(Profile::Soak, &none).expect("closed");
    assert_eq!(
        (soak.peak_vus(), soak.duration()),
        (20, Duration::from_secs(3600))
    );
    assert!(
        resolve(Profile::Breakpoint, &none).is_err(),
        "breakpoint is a search"
    );

    let open = resolve(
        Profile::Smoke,
        &LoadOverrides {
            rate: Some(500.0),
            duration: Some(Duration::from_secs(5)),
            ..none.clone()
        },
    );
    assert!(matches!(open, Ok(LoadModel::Open { rate, .. }) if rate == 500.0));
    let staged = resolve(
        Profile::Average,
        &LoadOverrides {
            stages: vec![Stage {
                duration: Duration::from_secs(10),
                target: 40,
            }],
            ..none
        },
    )
    .expect("closed");
    assert_eq!(
        (staged.peak_vus(), staged.duration()),
        (40, Duration::from_secs(10))
    );
}

#[test]
fn the_spike_ramps_one_to_a_hundred_and_back_over_ninety_seconds() {
    let spike = resolve(Profile::Spike, &LoadOverrides::default()).expect("closed");
    assert_eq!(spike.duration(), Duration::from_secs(90));
    assert_eq!(spike.vus_at(Duration::ZERO), 1);
    assert_eq!(spike.vus_at(Duration::from_secs(5)), 51);
    assert_eq!(spike.vus_at(Duration::from_secs(45)), 100);
    assert_eq!(spike.vus_at(Duration::from_secs(85)), 51);
    assert_eq!(spike.vus_at(Duration::from_secs(90)), 1);
}
