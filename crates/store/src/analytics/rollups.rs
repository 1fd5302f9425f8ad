//! Roll-up rows: add a delta to a row of each tier, and read a tier's rows in a range.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use switchboard_analytics::{Measure, Rollup, Stretch, Tier};
use switchboard_core::TenantId;

use super::{AnalyticsFilter, PARAMETERS_PER_STATEMENT, RollupKey, RollupSink};
use crate::pipeline::turn::placeholders;
use crate::{Store, StoreError};
use switchboard_database::{Db, Query, Row, RowExt, query};

/// Every measure, counters first.
static MEASURES: LazyLock<Vec<Measure>> = LazyLock::new(Measure::all);

/// The columns of `measures`, comma-separated.
fn columns(measures: &[Measure]) -> String {
    let columns: Vec<&str> = measures.iter().map(|measure| measure.column()).collect();
    columns.join(", ")
}

/// The parameters of a row's key.
const KEY_COLUMNS: usize = 6;

/// Rows with what to add to each.
type Deltas = Vec<(RollupKey, Rollup)>;

/// Adds minute roll-ups to their rows of every tier. The caller holds the write
/// transaction and, on PostgreSQL, the fold lock (rows are read, added to, and written back).
///
/// Only the measures a delta changes are touched: its counters are added in the statement,
/// and only its sketches are read, merged and written back. A row holds every measure, and
/// decoding and encoding the sketches a delta leaves alone was most of a fold's work. Rows
/// whose deltas touch the same measures are read and written together, many to a statement:
/// on PostgreSQL a statement a row made the fold a round trip per row (7,416 facts/s).
pub(super) async fn add_to_tiers(
    connection: &mut Db<'_>,
    minutes: &BTreeMap<RollupKey, Rollup>,
) -> Result<(), StoreError> {
    let mut tiers: BTreeMap<RollupKey, Rollup> = BTreeMap::new();
    for (key, rollup) in minutes {
        for tier in Tier::ALL {
            let key = RollupKey {
                tier: tier.name(),
                bucket: tier.bucket_of(key.bucket),
                ..key.clone()
            };
            tiers.entry(key).or_default().merge(rollup);
        }
    }
    let mut groups: Vec<(Vec<Measure>, Deltas)> = Vec::new();
    for (key, delta) in tiers {
        let touched = touched_measures(&delta);
        if touched.is_empty() {
            continue;
        }
        match groups.iter_mut().find(|(measures, _)| *measures == touched) {
            Some((_, rows)) => rows.push((key, delta)),
            None => groups.push((touched, vec![(key, delta)])),
        }
    }
    for (measures, rows) in groups {
        let sketches: Vec<Measure> = measures
            .iter()
            .copied()
            .filter(|measure| matches!(measure, Measure::Spread(_)))
            .collect();
        let per_statement = PARAMETERS_PER_STATEMENT / (KEY_COLUMNS + measures.len());
        for chunk in power_of_two_chunks(&rows, per_statement) {
            let mut stored = if sketches.is_empty() {
                HashMap::new()
            } else {
                read_rollups(connection, chunk, &sketches).await?
            };
            let merged: Vec<(&RollupKey, Rollup)> = chunk
                .iter()
                .enumerate()
                .map(|(place, (key, delta))| {
                    let mut rollup = stored.remove(&place).unwrap_or_default();
                    rollup.merge(delta);
                    (key, rollup)
                })
                .collect();
            add_rollups(connection, &merged, &measures).await?;
        }
    }
    Ok(())
}

/// `items` cut into runs of a power of two in length, each the longest that fits in `max` and
/// in what is left: a statement's text depends on how many rows it names, and prepared
/// statements are kept per text, so a few lengths keep a few statements (a fold's varied
/// lengths would otherwise push the pipeline's own statements out of SQLite's cache).
fn power_of_two_chunks<T>(mut items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if items.is_empty() {
            return None;
        }
        let length = 1 << items.len().min(max.max(1)).ilog2();
        let (chunk, rest) = items.split_at(length);
        items = rest;
        Some(chunk)
    })
}

/// The measures `delta` changes: counters it adds to, sketches it holds values for.
fn touched_measures(delta: &Rollup) -> Vec<Measure> {
    MEASURES
        .iter()
        .copied()
        .filter(|measure| match *measure {
            Measure::Count(counter) => delta.count(counter) != 0,
            Measure::Spread(distribution) => !delta.sketch(distribution).is_empty(),
        })
        .collect()
}

/// The key columns' condition for one row, its parameters numbered from `first`.
fn key_condition(first: usize) -> String {
    format!(
        "tenant_id = ${} AND tier = ${} AND bucket = ${} AND channel_id = ${} AND agent_id = ${} \
         AND campaign_id = ${}",
        first,
        first + 1,
        first + 2,
        first + 3,
        first + 4,
        first + 5
    )
}

/// Binds a row's key, in the order of [`key_condition`] and the table's key columns.
fn bind_key(statement: Query, key: &RollupKey) -> Query {
    statement
        .bind(key.tenant_id.clone())
        .bind(key.tier)
        .bind(key.bucket)
        .bind(key.channel_id.clone())
        .bind(key.agent_id.clone())
        .bind(key.campaign_id.clone())
}

/// The `measures` of those of the rows that are stored, by their place in `rows`.
///
/// One `SELECT` a key, joined by `UNION ALL` and each naming its place: each is an equality on
/// the whole primary key, an index lookup whatever the table's statistics say. As one `WHERE`
/// of keys joined by `OR`, a rebuild on PostgreSQL (one transaction filling the table anew, its
/// statistics those of before) had statements seen running for 20–200 ms, their time in an
/// index scan walking far more entries than it returned; the plan itself was not captured.
async fn read_rollups(
    connection: &mut Db<'_>,
    rows: &[(RollupKey, Rollup)],
    measures: &[Measure],
) -> Result<HashMap<usize, Rollup>, StoreError> {
    let selects: Vec<String> = (0..rows.len())
        .map(|index| {
            format!(
                "SELECT CAST({index} AS BIGINT) AS place, {} FROM analytics_rollups WHERE {}",
                columns(measures),
                key_condition(1 + index * KEY_COLUMNS)
            )
        })
        .collect();
    let statement = query(selects.join(" UNION ALL "));
    let found = rows
        .iter()
        .fold(statement, |statement, (key, _)| bind_key(statement, key))
        .fetch_all(&mut *connection)
        .await?;
    found
        .iter()
        .map(|row| {
            let place = usize::try_from(row.integer("place")?).unwrap_or(usize::MAX);
            let mut rollup = Rollup::default();
            add_row(row, measures, &mut rollup)?;
            Ok((place, rollup))
        })
        .collect()
}

/// Writes `measures` of each row, inserting the new ones: counters are added to the stored
/// ones, sketches (already merged with the stored ones) replace them.
async fn add_rollups(
    connection: &mut Db<'_>,
    rows: &[(&RollupKey, Rollup)],
    measures: &[Measure],
) -> Result<(), StoreError> {
    let updates: Vec<String> = measures
        .iter()
        .map(|measure| match *measure {
            Measure::Count(counter) => {
                let column = counter.column();
                format!("{column} = analytics_rollups.{column} + excluded.{column}")
            }
            Measure::Spread(distribution) => {
                let column = distribution.column();
                format!("{column} = excluded.{column}")
            }
        })
        .collect();
    let width = KEY_COLUMNS + measures.len();
    let values: Vec<String> = (0..rows.len())
        .map(|index| format!("({})", placeholders(1 + index * width, width)))
        .collect();
    let statement = query(format!(
        "INSERT INTO analytics_rollups
             (tenant_id, tier, bucket, channel_id, agent_id, campaign_id, {})
         VALUES {}
         ON CONFLICT (tenant_id, tier, bucket, channel_id, agent_id, campaign_id) DO UPDATE SET {}",
        columns(measures),
        values.join(", "),
        updates.join(", ")
    ));
    let statement = rows.iter().fold(statement, |statement, (key, rollup)| {
        measures.iter().fold(
            bind_key(statement, key),
            |statement, measure| match *measure {
                Measure::Count(counter) => statement.bind(rollup.count(counter)),
                Measure::Spread(distribution) => {
                    statement.bind(rollup.sketch(distribution).encode())
                }
            },
        )
    });
    statement.execute(&mut *connection).await?;
    Ok(())
}

/// Adds the `measures` of a row to `rollup` (others are left alone), sketches straight from
/// their stored text.
fn add_row(row: &Row, measures: &[Measure], rollup: &mut Rollup) -> Result<(), StoreError> {
    for measure in measures {
        match *measure {
            Measure::Count(counter) => rollup.add(counter, row.integer(counter.column())?),
            Measure::Spread(distribution) => {
                if let Some(text) = row.optional_text(distribution.column())? {
                    rollup
                        .sketch_mut(distribution)
                        .merge_encoded(&text)
                        .map_err(|error| StoreError::Corrupt {
                            column: distribution.column(),
                            reason: error.to_string(),
                        })?;
                }
            }
        }
    }
    Ok(())
}

/// Stretches one read names at most: two parameters each, within the
/// [`PARAMETERS_PER_STATEMENT`] with room for the tenant, the tier and the filter.
const STRETCHES_PER_STATEMENT: usize = 120;

impl Store {
    /// Adds the `measures` of the tenant's roll-up rows whose buckets start in any of the
    /// stretches, narrowed by `filter`, to the roll-ups `sink` names for them.
    ///
    /// The stretches of one tier are read by a few statements (lengths of
    /// [`power_of_two_chunks`]), and the statements side by side: a day in New York
    /// is three stretches of two tiers, and a statement each, one after another, made 90 days of
    /// them 180 round trips to PostgreSQL.
    pub async fn analytics_rollups(
        &self,
        tenant_id: TenantId,
        filter: &AnalyticsFilter,
        stretches: &[Stretch],
        measures: &[Measure],
        sink: &mut impl RollupSink,
    ) -> Result<(), StoreError> {
        let mut statements = Vec::new();
        for tier in Tier::ALL {
            let of_tier: Vec<&Stretch> = stretches
                .iter()
                .filter(|stretch| stretch.tier == tier)
                .collect();
            for chunk in power_of_two_chunks(&of_tier, STRETCHES_PER_STATEMENT) {
                statements.push((tier, chunk.to_vec()));
            }
        }
        // The statements run side by side, each on a connection of its own.
        let reads = statements.iter().map(|(tier, chunk)| {
            self.read_rollups_of_tier(tenant_id, filter, *tier, chunk, measures)
        });
        for row in futures::future::try_join_all(reads).await?.iter().flatten() {
            if let Some(rollup) = sink.rollup_for(row.integer("bucket")?, &row.text("channel_id")?)
            {
                add_row(row, measures, rollup)?;
            }
        }
        Ok(())
    }

    async fn read_rollups_of_tier(
        &self,
        tenant_id: TenantId,
        filter: &AnalyticsFilter,
        tier: Tier,
        stretches: &[&Stretch],
        measures: &[Measure],
    ) -> Result<Vec<Row>, StoreError> {
        let mut conditions = String::new();
        let mut values = Vec::new();
        let narrowing = [
            ("channel_id", filter.channel_id.map(|id| id.to_string())),
            ("agent_id", filter.agent_id.map(|id| id.to_string())),
            ("campaign_id", filter.campaign_id.clone()),
        ];
        for (column, value) in narrowing {
            if let Some(value) = value {
                values.push(value);
                let number = 2 + 2 * stretches.len() + values.len();
                conditions.push_str(&format!(" AND {column} = ${number}"));
            }
        }
        // A `SELECT` a stretch, joined by `UNION ALL`: each a range of the primary key. As one
        // `WHERE` of ranges joined by `OR`, SQLite read every row of the tier (a 7-day summary
        // took 165 ms instead of 7). On PostgreSQL, the stretches joined from two arrays
        // (`unnest`, `LATERAL`) were read by scanning the tier's whole partition, once for
        // all of them: summaries took 300 ms instead of 5 at 1,000,000 messages.
        let selects: Vec<String> = (0..stretches.len())
            .map(|index| {
                let first = 3 + 2 * index;
                format!(
                    "SELECT bucket, channel_id, {} FROM analytics_rollups
                     WHERE tenant_id = $1 AND tier = $2 AND bucket >= ${first} AND bucket < ${}{conditions}",
                    columns(measures),
                    first + 1
                )
            })
            .collect();
        let statement = query(selects.join(" UNION ALL "))
            .bind(tenant_id.to_string())
            .bind(tier.name());
        let statement = stretches.iter().fold(statement, |statement, stretch| {
            statement.bind(stretch.from).bind(stretch.to)
        });
        Ok(values
            .into_iter()
            .fold(statement, |statement, value| statement.bind(value))
            .blocking()
            .fetch_all(self.reader())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::power_of_two_chunks;

    #[test]
    fn chunks_are_powers_of_two_within_the_maximum() {
        let lengths = |count: usize, max: usize| {
            let items: Vec<usize> = (0..count).collect();
            let chunks: Vec<&[usize]> = power_of_two_chunks(&items, max).collect();
            assert_eq!(chunks.concat(), items, "every item once, in order");
            chunks.iter().map(|chunk| chunk.len()).collect::<Vec<_>>()
        };
        assert_eq!(lengths(0, 16), Vec::<usize>::new());
        assert_eq!(lengths(13, 16), [8, 4, 1]);
        assert_eq!(lengths(40, 21), [16, 16, 8]);
        assert_eq!(
            lengths(3, 0),
            [1, 1, 1],
            "a maximum under one still moves on"
        );
    }
}
