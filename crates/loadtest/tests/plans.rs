//! Quantities on the command line, the load the profiles resolve to, and the order of an
//! invocation's runs.

use std::time::Duration;

use clap::Parser;
use switchboard_loadtest::LoadtestArgs;
use switchboard_loadtest::plan::{LoadModel, LoadOverrides, Profile, resolve, run_order};
use switchboard_loadtest::quantity::{
    Stage, parse_duration, parse_percent, parse_rate, parse_stage,
};
use switchboard_loadtest::scenario::Scenario;

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

#[derive(Parser)]
struct Command {
    #[command(flatten)]
    loadtest: LoadtestArgs,
}

fn parse(flags: &[&str]) -> Result<LoadtestArgs, clap::Error> {
    Command::try_parse_from(std::iter::once("loadtest").chain(flags.iter().copied()))
        .map(|command| command.loadtest)
}

#[test]
fn the_scenario_flag_takes_several_by_comma_or_repeated_and_rounds_at_least_one() {
    let args = parse(&[
        "--scenario",
        "graphql-me,rest-me",
        "--scenario",
        "graphql-list",
        "--rounds",
        "3",
    ])
    .expect("valid");
    assert_eq!(
        args.scenarios,
        [Scenario::GraphqlMe, Scenario::RestMe, Scenario::GraphqlList]
    );
    assert_eq!(args.rounds, 3);
    let defaults = parse(&[]).expect("valid");
    assert_eq!(
        (defaults.scenarios, defaults.rounds),
        (vec![Scenario::Health], 1)
    );
    assert!(parse(&["--rounds", "0"]).is_err());
    assert!(parse(&["--scenario", "soap"]).is_err());
    let every = parse(&["--scenario", "graphql,rest-list"]).expect("valid");
    assert_eq!(every.scenarios, [Scenario::Graphql, Scenario::RestList]);
}

#[test]
fn scenarios_alternate_over_the_rounds_and_a_repeated_one_is_numbered() {
    let names = |scenarios: &[Scenario], rounds| -> Vec<String> {
        run_order(scenarios, rounds)
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    };
    assert_eq!(names(&[Scenario::Rest], 1), ["rest"]);
    assert_eq!(
        names(&[Scenario::GraphqlMe, Scenario::RestMe], 1),
        ["graphql-me", "rest-me"]
    );
    assert_eq!(
        names(&[Scenario::GraphqlMe, Scenario::RestMe], 2),
        ["graphql-me #1", "rest-me #1", "graphql-me #2", "rest-me #2"]
    );
    let order: Vec<Scenario> = run_order(&[Scenario::GraphqlList, Scenario::RestList], 3)
        .into_iter()
        .map(|(_, scenario)| scenario)
        .collect();
    assert_eq!(order, [Scenario::GraphqlList, Scenario::RestList].repeat(3));
}
