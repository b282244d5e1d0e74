//! The monitor's own SQLite file: each project's last findings, the reminders sent, the
//! events and their outbox. Never inside the advisory database, which imports replace.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use crate::{diff, Diff, Event, EventKind, Observation, Tracked};

/// Schema migrations, in order; `PRAGMA user_version` says how many have run.
const MIGRATIONS: &[&str] = &[
    // 1
    "CREATE TABLE project (
         name TEXT PRIMARY KEY,
         path TEXT NOT NULL,
         first_run TEXT NOT NULL,
         last_run TEXT NOT NULL
     );
     CREATE TABLE finding (
         project TEXT NOT NULL,
         key TEXT NOT NULL,
         json TEXT NOT NULL,
         PRIMARY KEY (project, key)
     );
     CREATE TABLE reminder (
         project TEXT NOT NULL,
         key TEXT NOT NULL,
         PRIMARY KEY (project, key)
     );
     CREATE TABLE event (
         id TEXT PRIMARY KEY,
         project TEXT NOT NULL,
         created TEXT NOT NULL,
         json TEXT NOT NULL
     );
     CREATE TABLE outbox (
         event_id TEXT NOT NULL REFERENCES event(id),
         channel TEXT NOT NULL,
         attempts INTEGER NOT NULL DEFAULT 0,
         last_error TEXT,
         last_attempt TEXT,
         delivered_at TEXT,
         PRIMARY KEY (event_id, channel)
     );
     CREATE INDEX outbox_pending ON outbox(delivered_at);",
    // 2: what advisory data each run had (a run with less resolves nothing); how many times
    // each finding was resolved (so that its return is a new event with a new id); when a
    // failed delivery may be tried again.
    "ALTER TABLE project ADD COLUMN coverage TEXT;
     CREATE TABLE generation (
         project TEXT NOT NULL,
         key TEXT NOT NULL,
         n INTEGER NOT NULL,
         PRIMARY KEY (project, key)
     );
     ALTER TABLE outbox ADD COLUMN not_before INTEGER NOT NULL DEFAULT 0;",
];

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: monitor state: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: monitor state: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("another monitor run holds {path} (waited {waited} s; --lock-wait to wait longer)")]
    Busy { path: PathBuf, waited: u64 },
}

pub struct State {
    path: PathBuf,
    conn: Connection,
}

/// An outbox row waiting for delivery.
#[derive(Debug, Clone)]
pub struct Pending {
    pub event: Event,
    pub channel: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// Unix seconds before which it is not tried again (after a failure).
    pub not_before: i64,
}

/// What [`State::record`] stored.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub events: Vec<Event>,
    /// Findings gone only because the advisory data no longer holds their advisory.
    pub kept: Vec<Tracked>,
}

impl State {
    /// Opens (creating and migrating as needed) the state file at `path`.
    pub fn open(path: &Path) -> Result<State, StateError> {
        let e = |source| StateError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| StateError::Invalid {
                path: dir.to_path_buf(),
                message: err.to_string(),
            })?;
        }
        let mut conn = Connection::open(path).map_err(e)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(e)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|_| StateError::Invalid {
                path: path.to_path_buf(),
                message: "not a stormwatch monitor state file".into(),
            })?;
        if version as usize > MIGRATIONS.len() {
            return Err(StateError::Invalid {
                path: path.to_path_buf(),
                message: format!(
                    "written by a newer stormwatch (schema {version}, this one knows {})",
                    MIGRATIONS.len()
                ),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction().map_err(e)?;
            tx.execute_batch(sql).map_err(e)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                .map_err(e)?;
            tx.commit().map_err(e)?;
        }
        Ok(State {
            path: path.to_path_buf(),
            conn,
        })
    }

    fn e(&self) -> impl Fn(rusqlite::Error) -> StateError + '_ {
        move |source| StateError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, what: &str, err: serde_json::Error) -> StateError {
        StateError::Invalid {
            path: self.path.clone(),
            message: format!("corrupt {what}: {err}"),
        }
    }

    /// Whether the project has run before.
    pub fn has_run(&self, project: &str) -> Result<bool, StateError> {
        let known: Option<String> = self
            .conn
            .query_row("SELECT name FROM project WHERE name = ?1", [project], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.e())?;
        Ok(known.is_some())
    }

    /// The project's findings at its last run; `None` if it never ran.
    pub fn previous(&self, project: &str) -> Result<Option<Vec<Tracked>>, StateError> {
        if !self.has_run(project)? {
            return Ok(None);
        }
        let mut stmt = self
            .conn
            .prepare("SELECT json FROM finding WHERE project = ?1 ORDER BY key")
            .map_err(self.e())?;
        let rows: Vec<String> = stmt
            .query_map([project], |r| r.get(0))
            .map_err(self.e())?
            .collect::<Result<_, _>>()
            .map_err(self.e())?;
        rows.iter()
            .map(|j| serde_json::from_str(j).map_err(|err| self.corrupt("finding", err)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// What advisory data the project's last recorded run had (as the caller wrote it).
    pub fn coverage(&self, project: &str) -> Result<Option<String>, StateError> {
        let row: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT coverage FROM project WHERE name = ?1",
                [project],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.e())?;
        Ok(row.flatten())
    }

    fn generations(&self, project: &str) -> Result<HashMap<String, i64>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, n FROM generation WHERE project = ?1")
            .map_err(self.e())?;
        let rows = stmt
            .query_map([project], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.e())?
            .collect::<Result<_, _>>()
            .map_err(self.e())?;
        Ok(rows)
    }

    fn reminders(&self, project: &str) -> Result<HashSet<String>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key FROM reminder WHERE project = ?1")
            .map_err(self.e())?;
        let keys = stmt
            .query_map([project], |r| r.get(0))
            .map_err(self.e())?
            .collect::<Result<_, _>>()
            .map_err(self.e())?;
        Ok(keys)
    }

    /// Compares `now` with the last run, and in one transaction stores the new findings,
    /// `coverage` (what advisory data this run had), the events and one outbox row per
    /// channel whose minimum severity the event meets. Findings the data lost
    /// ([`Diff::kept`]) stay recorded. Returns the events and those findings.
    pub fn record(
        &mut self,
        now: &Observation,
        channels: &[crate::Channel],
        created: &str,
        coverage: &str,
    ) -> Result<Recorded, StateError> {
        let previous = self.previous(&now.project)?;
        let sent = self.reminders(&now.project)?;
        let generations = self.generations(&now.project)?;
        let Diff {
            events,
            reminders,
            kept,
        } = diff(previous.as_deref(), now, &sent, &generations, created);
        let path = self.path.clone();
        let e = |source| StateError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(e)?;
        tx.execute(
            "INSERT INTO project (name, path, first_run, last_run, coverage)
             VALUES (?1, ?2, ?3, ?3, ?4)
             ON CONFLICT(name) DO UPDATE SET path = ?2, last_run = ?3, coverage = ?4",
            params![now.project, now.path, created, coverage],
        )
        .map_err(e)?;
        tx.execute("DELETE FROM finding WHERE project = ?1", [&now.project])
            .map_err(e)?;
        for f in now.findings.iter().chain(&kept) {
            tx.execute(
                "INSERT OR REPLACE INTO finding (project, key, json) VALUES (?1, ?2, ?3)",
                params![
                    now.project,
                    f.key,
                    serde_json::to_string(f).expect("findings serialize")
                ],
            )
            .map_err(e)?;
        }
        for key in &reminders {
            tx.execute(
                "INSERT OR IGNORE INTO reminder (project, key) VALUES (?1, ?2)",
                params![now.project, key],
            )
            .map_err(e)?;
        }
        for event in &events {
            if event.kind == EventKind::Resolved {
                if let Some(f) = &event.finding {
                    tx.execute(
                        "INSERT INTO generation (project, key, n) VALUES (?1, ?2, 1)
                         ON CONFLICT(project, key) DO UPDATE SET n = n + 1",
                        params![now.project, f.key],
                    )
                    .map_err(e)?;
                }
            }
            insert_event(&tx, event, channels).map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(Recorded { events, kept })
    }

    /// Stores an event that is not a comparison (a failed scan or update) with its outbox
    /// rows. The project's findings are left as they were: a failed run resolves nothing.
    pub fn record_event(
        &mut self,
        event: &Event,
        channels: &[crate::Channel],
    ) -> Result<(), StateError> {
        let path = self.path.clone();
        let e = |source| StateError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(e)?;
        insert_event(&tx, event, channels).map_err(e)?;
        tx.commit().map_err(e)
    }

    /// Outbox rows not delivered yet, oldest first, with the time (Unix seconds) before
    /// which each may not be tried again.
    pub fn pending(&self) -> Result<Vec<Pending>, StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT e.json, o.channel, o.attempts, o.last_error, o.not_before FROM outbox o
                 JOIN event e ON e.id = o.event_id
                 WHERE o.delivered_at IS NULL ORDER BY e.created, e.id",
            )
            .map_err(self.e())?;
        type Row = (String, String, i64, Option<String>, i64);
        let rows: Vec<Row> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(self.e())?
            .collect::<Result<_, _>>()
            .map_err(self.e())?;
        rows.into_iter()
            .map(|(json, channel, attempts, last_error, not_before)| {
                Ok(Pending {
                    event: serde_json::from_str(&json).map_err(|err| self.corrupt("event", err))?,
                    channel,
                    attempts,
                    last_error,
                    not_before,
                })
            })
            .collect()
    }

    /// Records one delivery attempt; a failed one is not tried again before `retry_at`
    /// (Unix seconds).
    pub fn attempted(
        &self,
        event_id: &str,
        channel: &str,
        outcome: Result<(), String>,
        at: &str,
        retry_at: i64,
    ) -> Result<(), StateError> {
        let (delivered, error) = match outcome {
            Ok(()) => (Some(at), None),
            Err(message) => (None, Some(message)),
        };
        self.conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_attempt = ?3, last_error = ?4,
                 delivered_at = ?5, not_before = ?6 WHERE event_id = ?1 AND channel = ?2",
                params![event_id, channel, at, error, delivered, retry_at],
            )
            .map_err(self.e())?;
        Ok(())
    }
}

fn insert_event(
    tx: &rusqlite::Transaction,
    event: &Event,
    channels: &[crate::Channel],
) -> Result<(), rusqlite::Error> {
    tx.execute(
        "INSERT OR IGNORE INTO event (id, project, created, json) VALUES (?1, ?2, ?3, ?4)",
        params![
            event.id,
            event.project,
            event.created,
            serde_json::to_string(event).expect("events serialize")
        ],
    )?;
    for channel in channels.iter().filter(|c| c.wants(event)) {
        tx.execute(
            "INSERT OR IGNORE INTO outbox (event_id, channel) VALUES (?1, ?2)",
            params![event.id, channel.id],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state written by the first schema is migrated in place, its rows kept.
    #[test]
    fn a_schema_1_state_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("monitor.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch(
                "PRAGMA user_version = 1;
                 INSERT INTO project VALUES ('p', '.', 't', 't');
                 INSERT INTO event VALUES ('e1', 'p', 't', '{}');
                 INSERT INTO outbox (event_id, channel) VALUES ('e1', 'webhook:x');",
            )
            .unwrap();
        }
        let state = State::open(&path).unwrap();
        assert!(state.has_run("p").unwrap());
        assert_eq!(state.coverage("p").unwrap(), None);
        let version: i64 = state
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        let not_before: i64 = state
            .conn
            .query_row("SELECT not_before FROM outbox", [], |r| r.get(0))
            .unwrap();
        assert_eq!(not_before, 0);
    }
}
