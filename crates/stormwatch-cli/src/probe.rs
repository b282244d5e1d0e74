//! `stormwatch probe URL`, and the probe half of `check --probe URL`.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};
use stormwatch_findings::{
    fingerprint, Audit, Detail, Finding, Location, Notice, ProbeFinding, ProbeRequest,
};
use stormwatch_manifest::{Dependency, Origin, Source, Spec};
use stormwatch_probe::{ProbeError, Probed, Tornado};

use crate::cli::{AdvisoryArgs, ProbeArgs, ProbeOptionsArgs};
use crate::output::{finish, load_policy, today};

/// Largest part of a response body judged: error pages and tracebacks are at the start.
const MAX_BODY: usize = 256 * 1024;

pub fn run(args: ProbeArgs) -> Result<bool> {
    // The policy of the directory the probe runs in (or --config): ignores, fail-on.
    let here = Path::new(".");
    let policy = load_policy(here, &args.output)?;
    let max_age = policy.as_ref().and_then(|p| p.advisories.max_age);
    let outcome = probe(
        &args.url,
        &args.options,
        &args.advisories,
        max_age,
        today(&args.output),
    )?;
    finish(outcome.audit, &args.output, here, policy.as_ref())
}

/// The probe as an audit, with what `check --probe` compares against the repository.
pub struct Outcome {
    pub audit: Audit,
    pub probed: Probed,
}

pub fn probe(
    url: &str,
    options: &ProbeOptionsArgs,
    data: &AdvisoryArgs,
    max_age: Option<i64>,
    today: time::Date,
) -> Result<Outcome> {
    if options.timeout == 0 || options.total_timeout == 0 {
        bail!("--timeout and --total-timeout must be at least 1 second");
    }
    let prober = stormwatch_http::Prober::new(&stormwatch_http::ExchangeOptions {
        cacert: options.cacert.clone(),
        insecure: options.insecure,
        max_body: MAX_BODY,
    })?;
    let mut probed = match stormwatch_probe::run(
        &prober,
        &stormwatch_probe::Options {
            url: url.to_string(),
            max_requests: options.max_requests,
            paths: options.paths.clone(),
            allow_post: options.allow_post,
            timeout: Duration::from_secs(options.timeout),
            total: Duration::from_secs(options.total_timeout),
            headers: options.headers.clone(),
        },
    ) {
        Ok(p) => p,
        Err(ProbeError::NoAnswer { url, reason }) => {
            let hint = match reason {
                stormwatch_http::NoAnswer::Tls(_) => {
                    " (for an internal CA: --cacert FILE; to skip the check: --insecure)"
                }
                _ => "",
            };
            bail!("{url}: the service did not answer: {reason}{hint}")
        }
        Err(e) => bail!("{e}"),
    };
    // The audit takes the findings and notices; `check --probe` reads the rest.
    let mut audit = Audit {
        findings: std::mem::take(&mut probed.findings),
        inputs: vec![probed.origin.clone()],
        notices: std::mem::take(&mut probed.notices),
        incomplete: std::mem::take(&mut probed.undetermined),
        ran: stormwatch_findings::Ran {
            probe: true,
            ..Default::default()
        },
        ..Audit::default()
    };
    audit.notices.insert(
        0,
        Notice::at(
            Location::new(probed.origin.clone(), 0),
            format!(
                "probed with {} request{} (cap {}): {}",
                probed.sent.len(),
                if probed.sent.len() == 1 { "" } else { "s" },
                options.max_requests,
                probed
                    .sent
                    .iter()
                    .map(|s| short(&s.request, &probed.origin))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
    );
    if let Tornado::Disclosed { version, request } = &probed.tornado {
        served_advisories(
            &mut audit,
            &probed.origin,
            version,
            request,
            data,
            max_age,
            today,
        )?;
    }
    Ok(Outcome { audit, probed })
}

/// `GET /path -> 200`, the origin left out and a long query cut.
fn short(r: &ProbeRequest, origin: &str) -> String {
    let mut path = r.url.strip_prefix(origin).unwrap_or(&r.url).to_string();
    if path.len() > 60 {
        path.truncate(stormwatch_probe::observe::floor_boundary(&path, 57));
        path.push_str("...");
    }
    let status = r
        .status
        .map_or("no response".to_string(), |s| s.to_string());
    format!("{} {path} -> {status}", r.method)
}

/// TW301: the advisories affecting the served version, matched exactly as `deps` matches a
/// pin, against the same advisory data.
fn served_advisories(
    audit: &mut Audit,
    origin: &str,
    version: &str,
    request: &ProbeRequest,
    data: &AdvisoryArgs,
    max_age: Option<i64>,
    today: time::Date,
) -> Result<()> {
    let loaded = crate::advisories::load(data, &["tornado"], max_age, today)?;
    let served = Dependency {
        name: "tornado".into(),
        spec: Spec::Pinned {
            version: version.to_string(),
            parsed: version.parse().ok(),
        },
        source: Source {
            path: request.url.clone().into(),
            line: 0,
        },
        origin: Origin::Installed,
        marker: None,
        group: None,
    };
    let result = stormwatch_audit::audit(
        std::slice::from_ref(&served),
        &loaded.set,
        stormwatch_audit::AuditOptions::default(),
    );
    let rule = &stormwatch_probe::rules::served_version::RULE;
    for f in result.findings {
        let Detail::Dependency(d) = f.detail else {
            continue;
        };
        let fix = match d.fixed_versions.first() {
            Some(v) => format!("; fixed in {v}"),
            None => "; no fixed version".into(),
        };
        audit.findings.push(Finding {
            detail: Detail::Probe(ProbeFinding {
                rule: rule.id.to_string(),
                message: format!(
                    "the service runs Tornado {version}, which {} affects{fix}",
                    f.id
                ),
                request: request.clone(),
                evidence: Some(format!("Server: TornadoServer/{version}")),
                vulnerability: Some(d),
            }),
            location: Location::new(request.url.clone(), 0),
            fingerprint: fingerprint(&["probe", rule.id, origin, &f.id]),
            ..f
        });
    }
    for adv in loaded.set.for_package("tornado") {
        audit.advisory_ids.extend(adv.all_ids().map(str::to_string));
    }
    audit.packages = 1;
    audit.advisory_data = Some(loaded.data);
    audit.notices.extend(loaded.notices);
    audit
        .findings
        .sort_by_key(|f| std::cmp::Reverse(f.severity));
    Ok(())
}
