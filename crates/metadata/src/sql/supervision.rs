//! Storage of supervision: freezes, alerts, tracker exemptions, the
//! monitor's cursor and the daily usage totals.

use chrono::NaiveDate;
use gongshu_domain::supervision::{Alert, AlertRule, AlertState, Freeze, FreezeTarget, TrackerExemption};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{
    Bind, DynSql, SqlTransaction, day, opt_ts, parse_day, parse_opt_ts, parse_ts, stored, ts, usage_event_from_row,
};
use crate::{DailyUsage, LedgeredUsage, StoreError, StoreResult, UsageDimension};

fn freeze_from_row(row: &AnyRow) -> StoreResult<Freeze> {
    Ok(Freeze {
        id: row.try_get("id")?,
        target: stored(FreezeTarget::parse("target", &row.try_get::<String, _>("target")?))?,
        target_id: row.try_get("target_id")?,
        reason: row.try_get("reason")?,
        frozen_by: row.try_get("frozen_by")?,
        frozen_at: parse_ts(&row.try_get::<String, _>("frozen_at")?)?,
        alert_id: row.try_get("alert_id")?,
        released_by: row.try_get("released_by")?,
        released_at: parse_opt_ts(row.try_get("released_at")?)?,
        release_decision: row.try_get("release_decision")?,
        row_version: row.try_get("row_version")?,
    })
}

fn alert_from_row(row: &AnyRow) -> StoreResult<Alert> {
    let evidence: String = row.try_get("evidence")?;
    Ok(Alert {
        id: row.try_get("id")?,
        rule: stored(AlertRule::parse("rule", &row.try_get::<String, _>("rule")?))?,
        dedup_key: row.try_get("dedup_key")?,
        grant_id: row.try_get("grant_id")?,
        resource_id: row.try_get("resource_id")?,
        user_id: row.try_get("user_id")?,
        org_id: row.try_get("org_id")?,
        summary_en: row.try_get("summary_en")?,
        summary_zh: row.try_get("summary_zh")?,
        evidence: serde_json::from_str(&evidence).map_err(|e| StoreError::Corrupt(format!("alert evidence: {e}")))?,
        raised_at: parse_ts(&row.try_get::<String, _>("raised_at")?)?,
        state: stored(AlertState::parse("state", &row.try_get::<String, _>("state")?))?,
        handled_by: row.try_get("handled_by")?,
        note: row.try_get("note")?,
        row_version: row.try_get("row_version")?,
    })
}

impl SqlTransaction {
    pub(super) async fn put_freeze(&mut self, f: &Freeze) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO emergency_freeze (id, target, target_id, reason, frozen_by, frozen_at, alert_id, released_by, \
             released_at, release_decision, row_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(f.id.clone())
        .bind(f.target.code())
        .bind(f.target_id.clone())
        .bind(f.reason.clone())
        .bind(f.frozen_by.clone())
        .bind(ts(f.frozen_at))
        .bind(f.alert_id.clone())
        .bind(f.released_by.clone())
        .bind(opt_ts(f.released_at))
        .bind(f.release_decision.clone())
        .bind(f.row_version)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub(super) async fn get_freeze(&mut self, id: &str) -> StoreResult<Freeze> {
        let row = sqlx::query("SELECT * FROM emergency_freeze WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| StoreError::NotFound { entity: "freeze", id: id.to_owned() })?;
        freeze_from_row(&row)
    }

    pub(super) async fn release(&mut self, f: &Freeze) -> StoreResult<Freeze> {
        let done = sqlx::query(
            "UPDATE emergency_freeze SET released_by = $1, released_at = $2, release_decision = $3, row_version = $4 \
             WHERE id = $5 AND row_version = $6",
        )
        .bind(f.released_by.clone())
        .bind(opt_ts(f.released_at))
        .bind(f.release_decision.clone())
        .bind(f.row_version + 1)
        .bind(f.id.clone())
        .bind(f.row_version)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale { entity: "freeze", id: f.id.clone() });
        }
        Ok(Freeze { row_version: f.row_version + 1, ..f.clone() })
    }

    pub(super) async fn list_freezes(
        &mut self,
        targets: Option<&[(FreezeTarget, String)]>,
    ) -> StoreResult<Vec<Freeze>> {
        let mut sql = DynSql::default();
        match targets {
            None => {
                sql.push("SELECT * FROM emergency_freeze ORDER BY frozen_at DESC");
            }
            Some([]) => return Ok(Vec::new()),
            Some(targets) => {
                sql.push("SELECT * FROM emergency_freeze WHERE released_at IS NULL AND (");
                for (i, (target, id)) in targets.iter().enumerate() {
                    if i > 0 {
                        sql.push(" OR ");
                    }
                    sql.push("(target = ").bind(Bind::Text(target.code().to_owned()));
                    sql.push(" AND target_id = ").bind(Bind::Text(id.clone())).push(")");
                }
                sql.push(") ORDER BY frozen_at");
            }
        }
        sql.query().fetch_all(&mut *self.tx).await?.iter().map(freeze_from_row).collect()
    }

    pub(super) async fn put_alert(&mut self, a: &Alert) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO alert (id, rule, dedup_key, grant_id, resource_id, user_id, org_id, summary_en, summary_zh, \
             evidence, raised_at, state, handled_by, note, row_version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(a.id.clone())
        .bind(a.rule.code())
        .bind(a.dedup_key.clone())
        .bind(a.grant_id.clone())
        .bind(a.resource_id.clone())
        .bind(a.user_id.clone())
        .bind(a.org_id.clone())
        .bind(a.summary_en.clone())
        .bind(a.summary_zh.clone())
        .bind(serde_json::to_string(&a.evidence).expect("numbers serialize"))
        .bind(ts(a.raised_at))
        .bind(a.state.code())
        .bind(a.handled_by.clone())
        .bind(a.note.clone())
        .bind(a.row_version)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub(super) async fn get_alert(&mut self, id: &str) -> StoreResult<Alert> {
        let row = sqlx::query("SELECT * FROM alert WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| StoreError::NotFound { entity: "alert", id: id.to_owned() })?;
        alert_from_row(&row)
    }

    pub(super) async fn alert_exists(&mut self, dedup_key: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM alert WHERE dedup_key = $1")
            .bind(dedup_key.to_owned())
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.is_some())
    }

    pub(super) async fn handle(&mut self, a: &Alert) -> StoreResult<Alert> {
        let done = sqlx::query(
            "UPDATE alert SET state = $1, handled_by = $2, note = $3, row_version = $4 WHERE id = $5 AND row_version = $6",
        )
        .bind(a.state.code())
        .bind(a.handled_by.clone())
        .bind(a.note.clone())
        .bind(a.row_version + 1)
        .bind(a.id.clone())
        .bind(a.row_version)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale { entity: "alert", id: a.id.clone() });
        }
        Ok(Alert { row_version: a.row_version + 1, ..a.clone() })
    }

    pub(super) async fn list_alerts(&mut self, open_only: bool, limit: i64) -> StoreResult<Vec<Alert>> {
        let sql = if open_only {
            "SELECT * FROM alert WHERE state <> 'closed' ORDER BY raised_at DESC LIMIT $1"
        } else {
            "SELECT * FROM alert ORDER BY raised_at DESC LIMIT $1"
        };
        sqlx::query(sql).bind(limit).fetch_all(&mut *self.tx).await?.iter().map(alert_from_row).collect()
    }

    pub(super) async fn put_exemption(&mut self, e: &TrackerExemption) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO tracker_exemption (id, grant_id, reason, until_day, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(e.id.clone())
        .bind(e.grant_id.clone())
        .bind(e.reason.clone())
        .bind(day(e.until))
        .bind(e.created_by.clone())
        .bind(ts(e.created_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub(super) async fn list_exemptions(&mut self) -> StoreResult<Vec<TrackerExemption>> {
        let rows = sqlx::query("SELECT * FROM tracker_exemption ORDER BY created_at").fetch_all(&mut *self.tx).await?;
        rows.iter()
            .map(|row| {
                Ok(TrackerExemption {
                    id: row.try_get("id")?,
                    grant_id: row.try_get("grant_id")?,
                    reason: row.try_get("reason")?,
                    until: parse_day(&row.try_get::<String, _>("until_day")?)?,
                    created_by: row.try_get("created_by")?,
                    created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
                })
            })
            .collect()
    }

    pub(super) async fn monitor_cursor(&mut self) -> StoreResult<i64> {
        // Taking the row's lock first makes monitors on several servers
        // take turns, so an episode is never raised twice.
        sqlx::query("UPDATE monitor_state SET last_index = last_index WHERE id = 1").execute(&mut *self.tx).await?;
        Ok(sqlx::query("SELECT last_index FROM monitor_state WHERE id = 1")
            .fetch_one(&mut *self.tx)
            .await?
            .try_get(0)?)
    }

    pub(super) async fn advance_monitor(&mut self, from: i64, to: i64) -> StoreResult<()> {
        let done = sqlx::query("UPDATE monitor_state SET last_index = $1 WHERE id = 1 AND last_index = $2")
            .bind(to)
            .bind(from)
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale { entity: "monitor", id: "cursor".into() });
        }
        Ok(())
    }

    pub(super) async fn events_in_ledger_after(&mut self, index: i64, limit: i64) -> StoreResult<Vec<LedgeredUsage>> {
        let rows = sqlx::query(
            "SELECT ledger_index.idx AS ledger_index, ledger_entry.kind AS ledger_kind, usage_event.* \
             FROM ledger_index JOIN ledger_entry ON ledger_entry.queue_id = ledger_index.queue_id \
             JOIN usage_event ON usage_event.seq = ledger_entry.ref_seq \
             WHERE ledger_index.idx > $1 AND ledger_entry.kind IN ('usage', 'usage_outcome') \
             ORDER BY ledger_index.idx LIMIT $2",
        )
        .bind(index)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LedgeredUsage {
                    index: row.try_get("ledger_index")?,
                    outcome: row.try_get::<String, _>("ledger_kind")? == "usage_outcome",
                    event: usage_event_from_row(row)?,
                })
            })
            .collect()
    }

    pub(super) async fn add_daily(&mut self, rows: &[DailyUsage]) -> StoreResult<()> {
        for r in rows {
            sqlx::query(
                "INSERT INTO usage_daily (day, grant_id, org_id, resource_id, purpose, mode, allowed, reads, rows_out, \
                 first_seq, last_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (day, grant_id, org_id, resource_id, purpose, mode, allowed) DO UPDATE SET \
                 reads = usage_daily.reads + excluded.reads, rows_out = usage_daily.rows_out + excluded.rows_out, \
                 first_seq = CASE WHEN excluded.first_seq < usage_daily.first_seq THEN excluded.first_seq \
                             ELSE usage_daily.first_seq END, \
                 last_seq = CASE WHEN excluded.last_seq > usage_daily.last_seq THEN excluded.last_seq \
                            ELSE usage_daily.last_seq END",
            )
            .bind(day(r.day))
            .bind(r.grant_id.clone().unwrap_or_default())
            .bind(r.org_id.clone().unwrap_or_default())
            .bind(r.resource_id.clone())
            .bind(r.purpose.clone().unwrap_or_default())
            .bind(r.mode.clone())
            .bind(i64::from(r.allowed))
            .bind(r.reads)
            .bind(r.rows_out)
            .bind(r.first_seq)
            .bind(r.last_seq)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    pub(super) async fn daily(
        &mut self,
        since: NaiveDate,
        until: NaiveDate,
        dimension: &UsageDimension,
    ) -> StoreResult<Vec<DailyUsage>> {
        let mut sql = DynSql::default();
        sql.push("SELECT * FROM usage_daily WHERE day >= ").bind(Bind::Text(day(since)));
        sql.push(" AND day <= ").bind(Bind::Text(day(until)));
        match dimension {
            UsageDimension::All => {}
            UsageDimension::Resource(id) => {
                sql.push(" AND resource_id = ").bind(Bind::Text(id.clone()));
            }
            UsageDimension::Grants(ids) => {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                sql.push(" AND grant_id IN ").bind_list(ids.iter().cloned());
            }
        }
        sql.push(" ORDER BY day, grant_id, org_id, resource_id");
        let rows = sql.query().fetch_all(&mut *self.tx).await?;
        let text = |row: &AnyRow, name: &str| -> StoreResult<Option<String>> {
            let value: String = row.try_get(name)?;
            Ok((!value.is_empty()).then_some(value))
        };
        rows.iter()
            .map(|row| {
                Ok(DailyUsage {
                    day: parse_day(&row.try_get::<String, _>("day")?)?,
                    grant_id: text(row, "grant_id")?,
                    org_id: text(row, "org_id")?,
                    resource_id: row.try_get("resource_id")?,
                    purpose: text(row, "purpose")?,
                    mode: row.try_get("mode")?,
                    allowed: row.try_get::<i64, _>("allowed")? != 0,
                    reads: row.try_get("reads")?,
                    rows_out: row.try_get("rows_out")?,
                    first_seq: row.try_get("first_seq")?,
                    last_seq: row.try_get("last_seq")?,
                })
            })
            .collect()
    }
}
