//! The versioned JSON contract (`docs/json-schema.md`, `docs/report.schema.json`).

use std::io::Write;

use stormwatch_findings::Report;

use crate::{Context, Emitter};

pub struct Json;

impl Emitter for Json {
    /// Streamed rather than built in memory first: a large report is megabytes, and growing
    /// one string to that size costs more than serializing.
    fn emit(&self, report: &Report, _: &Context, out: &mut dyn Write) -> std::io::Result<()> {
        let mut buf = std::io::BufWriter::with_capacity(64 * 1024, out);
        serde_json::to_writer_pretty(&mut buf, report).map_err(std::io::Error::other)?;
        buf.write_all(b"\n")?;
        buf.flush()
    }
}

#[cfg(test)]
mod tests {
    use crate::{json, sample};
    use stormwatch_findings::Report;

    #[test]
    fn round_trips() {
        let r = sample::report();
        let text = json(&r);
        let back: Report = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["version"], 2);
        let first = &v["findings"][0];
        assert_eq!(first["kind"], "dependency");
        assert_eq!(first["location"]["file"], "requirements.txt");
        assert_eq!(first["location"]["line"], 3);
        assert_eq!(first["fingerprint"].as_str().unwrap().len(), 32);
        assert_eq!(v["summary"]["suppressed"], 1);
        assert_eq!(
            v["summary"]["high"], 2,
            "the pin and the probe's traceback; the suppressed finding is not counted"
        );
        let probe = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == "probe")
            .unwrap();
        assert_eq!(probe["request"]["status"], 404);
        assert!(
            probe["location"].get("line").is_none(),
            "unknown lines are left out"
        );
    }
}
