//! Roll-up rows: add a delta to a row of each tier, and read a tier's rows in a range.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use switchboard_analytics::{Measure, Rollup, Stretch, Tier};
use switchboard_core::TenantId;

use super::{AnalyticsFilter, RollupKey, RollupRow};
use crate::pipeline::turn::placeholders;
use crate::{Store, StoreError};
use switchboard_database::{Db, Row, RowExt, query};

/// Every measure, counters first.
static MEASURES: LazyLock<Vec<Measure>> = LazyLock::new(Measure::all);

/// The columns of `measures`, comma-separated.
fn columns(measures: &[Measure]) -> String {
    let columns: Vec<&str> = measures.iter().map(|measure| measure.column()).collect();
    columns.join(", ")
}

/// Adds minute roll-ups to their rows of every tier. The caller holds the write
/// transaction and, on PostgreSQL, the fold lock (rows are read, added to, and written back).
///
/// Only the measures a delta changes are touched: its counters are added in the statement,
/// and only its sketches are read, merged and written back. A row holds every measure, and
/// decoding and encoding the sketches a delta leaves alone was most of a fold's work.
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
    for (key, delta) in tiers {
        let touched = touched_measures(&delta);
        let sketches: Vec<Measure> = touched
            .iter()
            .copied()
            .filter(|measure| matches!(measure, Measure::Spread(_)))
            .collect();
        let mut rollup = if sketches.is_empty() {
            Rollup::default()
        } else {
            read_rollup(connection, &key, &sketches)
                .await?
                .unwrap_or_default()
        };
        rollup.merge(&delta);
        add_rollup(connection, &key, &rollup, &touched).await?;
    }
    Ok(())
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

/// The `measures` of one stored row.
async fn read_rollup(
    connection: &mut Db<'_>,
    key: &RollupKey,
    measures: &[Measure],
) -> Result<Option<Rollup>, StoreError> {
    let row = query(format!(
        "SELECT {} FROM analytics_rollups
         WHERE tenant_id = $1 AND tier = $2 AND bucket = $3 AND channel_id = $4 AND agent_id = $5
           AND campaign_id = $6",
        columns(measures)
    ))
    .bind(&key.tenant_id)
    .bind(key.tier)
    .bind(key.bucket)
    .bind(&key.channel_id)
    .bind(&key.agent_id)
    .bind(&key.campaign_id)
    .fetch_optional(&mut *connection)
    .await?;
    row.as_ref()
        .map(|row| rollup_from_row(row, measures))
        .transpose()
}

/// Writes `measures` of a row, inserting it when it is new: counters are added to the stored
/// ones, sketches (already merged with the stored ones) replace them.
async fn add_rollup(
    connection: &mut Db<'_>,
    key: &RollupKey,
    rollup: &Rollup,
    measures: &[Measure],
) -> Result<(), StoreError> {
    if measures.is_empty() {
        return Ok(());
    }
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
    let statement = format!(
        "INSERT INTO analytics_rollups
             (tenant_id, tier, bucket, channel_id, agent_id, campaign_id, {})
         VALUES ({})
         ON CONFLICT (tenant_id, tier, bucket, channel_id, agent_id, campaign_id) DO UPDATE SET {}",
        columns(measures),
        placeholders(1, 6 + measures.len()),
        updates.join(", ")
    );
    let statement = query(statement)
        .bind(&key.tenant_id)
        .bind(key.tier)
        .bind(key.bucket)
        .bind(&key.channel_id)
        .bind(&key.agent_id)
        .bind(&key.campaign_id);
    let statement = measures
        .iter()
        .fold(statement, |statement, measure| match *measure {
            Measure::Count(counter) => statement.bind(rollup.count(counter)),
            Measure::Spread(distribution) => statement.bind(rollup.sketch(distribution).encode()),
        });
    statement.execute(&mut *connection).await?;
    Ok(())
}

/// The `measures` of a row (others read as nothing).
fn rollup_from_row(row: &Row, measures: &[Measure]) -> Result<Rollup, StoreError> {
    let mut rollup = Rollup::default();
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
    Ok(rollup)
}

impl Store {
    /// The `measures` of the tenant's roll-up rows of one tier whose buckets start in the
    /// stretch, narrowed by `filter`; rows of one bucket (several channels, agents) are not
    /// merged.
    pub async fn analytics_rollups(
        &self,
        tenant_id: TenantId,
        filter: &AnalyticsFilter,
        stretch: Stretch,
        measures: &[Measure],
    ) -> Result<Vec<RollupRow>, StoreError> {
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
                conditions.push_str(&format!(" AND {column} = ${}", 4 + values.len()));
            }
        }
        let statement = query(format!(
            "SELECT bucket, channel_id, {} FROM analytics_rollups
             WHERE tenant_id = $1 AND tier = $2 AND bucket >= $3 AND bucket < $4{conditions}",
            columns(measures)
        ))
        .bind(tenant_id.to_string())
        .bind(stretch.tier.name())
        .bind(stretch.from)
        .bind(stretch.to);
        let rows = values
            .into_iter()
            .fold(statement, |statement, value| statement.bind(value))
            .blocking()
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(RollupRow {
                    bucket: row.integer("bucket")?,
                    channel_id: row.text("channel_id")?,
                    rollup: rollup_from_row(row, measures)?,
                })
            })
            .collect()
    }
}
