use std::path::Path;

use super::*;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn env_of(d: &Deployment, var: &str) -> Vec<(String, String, usize)> {
    let mut v: Vec<_> = d
        .env
        .iter()
        .filter(|e| e.var == var)
        .map(|e| {
            let name = e.file.file_name().unwrap().to_string_lossy().into_owned();
            (name, e.value.clone(), e.line)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn stage_from_path() {
    assert_eq!(
        classify(Path::new("docker-compose.dev.yml")),
        Stage::Development
    );
    assert_eq!(classify(Path::new(".env.development")), Stage::Development);
    assert_eq!(classify(Path::new(".env.example")), Stage::Development);
    assert_eq!(
        classify(Path::new("deploy/prod/app.yaml")),
        Stage::Production
    );
    assert_eq!(classify(Path::new(".env.production")), Stage::Production);
    assert_eq!(classify(Path::new("Dockerfile")), Stage::Unmarked);
    assert_eq!(
        classify(Path::new("devops/Dockerfile")),
        Stage::Unmarked,
        "whole words only"
    );
}

#[test]
fn readers_extract_env_and_commands_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "chart/values.yaml",
        "replicaCount: 2\nenv:\n  - name: APP_DEBUG\n    value: \"1\"\nargs: [\"--debug\"]\n",
    );
    write(
        p,
        "supervisord.conf",
        "[supervisord]\nnodaemon=true\n\n[program:web]\ncommand=python app.py --autoreload\nenvironment=APP_DEBUG=\"yes\",OTHER=\"a,b\"\n",
    );
    write(p, "app.env", "APP_DEBUG=on\n");
    write(
        p,
        "web.service",
        "[Service]\nEnvironmentFile=-app.env\nExecStart=/usr/bin/python app.py\n",
    );
    write(
        p,
        "compose.yaml",
        "services:\n  web:\n    image: x\n    env_file: shared.env\n    command: [\"python\", \"app.py\"]\n",
    );
    write(p, "shared.env", "# comment\nexport SHARED=1\n");
    let d = scan(p);
    assert_eq!(
        env_of(&d, "APP_DEBUG"),
        [
            ("app.env".into(), "on".into(), 1),
            ("supervisord.conf".into(), "yes".into(), 6),
            ("values.yaml".into(), "1".into(), 3),
        ],
        "app.env is read as a .env file and through EnvironmentFile: one setting"
    );
    assert_eq!(env_of(&d, "OTHER")[0].1, "a,b");
    assert_eq!(env_of(&d, "SHARED")[0].0, "shared.env");
    let cmd = |needle: &str| {
        d.commands
            .iter()
            .find(|c| c.args.iter().any(|a| a == needle))
            .map(|c| (c.kind, c.line))
    };
    assert_eq!(cmd("--debug"), Some((Kind::Kubernetes, 5)));
    assert_eq!(cmd("--autoreload"), Some((Kind::Supervisord, 5)));
    assert!(d
        .commands
        .iter()
        .any(|c| c.kind == Kind::Systemd && c.line == 3));
    assert!(d
        .commands
        .iter()
        .any(|c| c.kind == Kind::Compose && c.line == 5));
    assert!(d.unread.is_empty(), "{:?}", d.unread);
}

#[test]
fn compose_env_file_and_dotenv_are_one_setting() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(p, ".env", "APP_DEBUG=1\n");
    write(
        p,
        "docker-compose.yml",
        "services:\n  web:\n    env_file: .env\n",
    );
    let d = scan(p);
    assert_eq!(env_of(&d, "APP_DEBUG"), [(".env".into(), "1".into(), 1)]);
}

#[test]
fn env_files_outside_the_root_are_not_read() {
    let outer = tempfile::tempdir().unwrap();
    write(outer.path(), "outside.env", "SECRET_FLAG=1\n");
    let root = outer.path().join("repo");
    write(
        &root,
        "docker-compose.yml",
        "services:\n  web:\n    env_file: ../outside.env\n",
    );
    let d = scan(&root);
    assert!(env_of(&d, "SECRET_FLAG").is_empty());
    assert_eq!(d.unread.len(), 1);
    assert_eq!(d.unread[0].line, 3);
    assert!(d.unread[0]
        .message
        .contains("outside the scanned directory"));
}

#[test]
fn unparsable_yaml_is_reported_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // Not a Helm template: an unclosed flow sequence after a valid document.
    write(
        p,
        "k8s/deploy.yaml",
        "apiVersion: v1\nkind: ConfigMap\ndata:\n  A: \"1\"\n---\napiVersion: v1\nkind: Pod\nspec:\n  args: [\n",
    );
    write(p, "docker-compose.yml", "services: [\n");
    write(p, ".env", "GOOD=1\n");
    let d = scan(p);
    assert_eq!(
        env_of(&d, "A"),
        [("deploy.yaml".into(), "1".into(), 4)],
        "first document kept"
    );
    assert_eq!(env_of(&d, "GOOD").len(), 1);
    let mut unread: Vec<(String, usize)> = d
        .unread
        .iter()
        .map(|u| {
            (
                u.path.file_name().unwrap().to_string_lossy().into_owned(),
                u.line,
            )
        })
        .collect();
    unread.sort();
    assert_eq!(unread.len(), 2, "{:?}", d.unread);
    assert!(d.unread.iter().all(|u| u.message.contains("invalid YAML")));
}

#[test]
fn helm_templates_are_read_with_actions_blanked() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "chart/templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"app.fullname\" . }}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: \"{{ .Values.image }}\"\n          args: [\"--debug\"]\n          env:\n            {{- if .Values.debug }}\n            - name: APP_DEBUG\n              value: \"1\"\n            {{- end }}\n",
    );
    let d = scan(p);
    assert!(d.unread.is_empty(), "{:?}", d.unread);
    assert_eq!(
        env_of(&d, "APP_DEBUG"),
        [("deployment.yaml".into(), "1".into(), 14)]
    );
    assert!(d
        .commands
        .iter()
        .any(|c| c.args == ["--debug"] && c.line == 11));
}

#[test]
fn dockerfile_final_stage_only() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "Dockerfile",
        "FROM python:3.12 AS build\nENV APP_DEBUG=1\nRUN pip wheel .\nCMD [\"pytest\"]\n\nFROM python:3.12-slim AS base\nENV APP_ENV=production\nWORKDIR /srv\n\nFROM base\nENTRYPOINT [\"python\"]\nCMD [\"-m\", \"app\", \"--port=80\"]\n",
    );
    let d = scan(p);
    assert!(
        env_of(&d, "APP_DEBUG").is_empty(),
        "build stage's ENV does not reach production"
    );
    assert_eq!(
        env_of(&d, "APP_ENV"),
        [("Dockerfile".into(), "production".into(), 7)]
    );
    assert!(!d.commands.iter().any(|c| c.args == ["pytest"]));
    let cmd = d.commands.iter().find(|c| c.line == 12).unwrap();
    assert_eq!(cmd.full(), ["python", "-m", "app", "--port=80"]);
    assert_eq!(cmd.args, ["-m", "app", "--port=80"]);
    assert_eq!(cmd.workdir.as_deref(), Some("/srv"));
}

#[test]
fn compose_merge_keys_and_entrypoint() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "docker-compose.yml",
        "x-common: &common\n  environment:\n    APP_DEBUG: \"true\"\nservices:\n  web:\n    <<: *common\n    entrypoint: [\"python\"]\n    command: app.py --logging=debug\n",
    );
    let d = scan(p);
    assert_eq!(
        env_of(&d, "APP_DEBUG"),
        [("docker-compose.yml".into(), "true".into(), 3)]
    );
    let cmd = d.commands.iter().find(|c| c.line == 8).unwrap();
    assert_eq!(cmd.full(), ["python", "app.py", "--logging=debug"]);
}

#[test]
fn shell_splitting() {
    assert_eq!(
        shell_words("python app.py --debug"),
        ["python", "app.py", "--debug"]
    );
    assert_eq!(shell_words("sh -c \"a b\" ''"), ["sh", "-c", "a b", ""]);
    assert_eq!(shell_words("python 'unbalanced"), ["python", "'unbalanced"]);
    assert_eq!(
        supervisord::split_env("A=\"1\",B=\"x,y\""),
        ["A=\"1\"", "B=\"x,y\""]
    );
}

#[test]
fn template_actions_inline_and_alone() {
    let t = "{{- if .Values.on }}\nmetadata:\n  chart: {{ .Chart.Name }}-{{ .Chart.Version }}\n  {{- range .Values.x }}\n  image: \"{{ .Values.image }}\"\n";
    let blanked = blank_template_actions(t);
    assert_eq!(blanked.lines().count(), t.lines().count());
    let docs = stormwatch_yaml::parse(&blanked);
    assert!(docs.error.is_none(), "{:?}\n{blanked}", docs.error);
    let doc = &docs.documents[0];
    assert!(doc
        .get("metadata")
        .unwrap()
        .get("chart")
        .unwrap()
        .as_str()
        .unwrap()
        .starts_with('x'));
}

#[test]
fn comments_inside_continuations_are_skipped_as_docker_and_systemd_do() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "Dockerfile",
        "FROM python\nENV A=1 \\\n# a comment does not end the instruction\n    DEBUG=1\nCMD python app.py \\\n  # neither here\n  --debug\n",
    );
    write(
        p,
        "web.service",
        "[Service]\nExecStart=/usr/bin/python app.py \\\n# comment\n; also a comment\n  --debug\nEnvironment=A=1 \\\n# comment\n  TRACE=1\n",
    );
    let d = scan(p);
    assert_eq!(env_of(&d, "DEBUG"), [("Dockerfile".into(), "1".into(), 2)]);
    assert_eq!(env_of(&d, "TRACE"), [("web.service".into(), "1".into(), 6)]);
    let commands: Vec<&Vec<String>> = d.commands.iter().map(|c| &c.args).collect();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert!(commands
        .iter()
        .all(|argv| argv.last().map(String::as_str) == Some("--debug")));
}

#[test]
fn damaged_and_ambiguous_yaml_is_reported_never_dropped_silently() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // One non-UTF-8 byte: the manifest is still recognised and read, and the line reported.
    std::fs::create_dir_all(p.join("k8s")).unwrap();
    std::fs::write(
        p.join("k8s/pod.yaml"),
        b"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: web\n    env:\n    - name: NOTE\n      value: \"caf\xe9\"\n    - name: DEBUG\n      value: \"1\"\n",
    )
    .unwrap();
    // A repeated key: docker compose refuses the file, so it is reported, not half-read.
    write(
        p,
        "docker-compose.yml",
        "services:\n  web:\n    environment:\n      TRACE: \"1\"\n      TRACE: \"0\"\n",
    );
    let d = scan(p);
    assert_eq!(env_of(&d, "DEBUG"), [("pod.yaml".into(), "1".into(), 9)]);
    assert!(env_of(&d, "TRACE").is_empty());
    let mut unread: Vec<(String, usize, String)> = d
        .unread
        .iter()
        .map(|u| {
            (
                u.path.file_name().unwrap().to_string_lossy().into_owned(),
                u.line,
                u.message.clone(),
            )
        })
        .collect();
    unread.sort();
    assert_eq!(unread.len(), 2, "{unread:?}");
    assert_eq!(
        (unread[0].0.as_str(), unread[0].1),
        ("docker-compose.yml", 5)
    );
    assert!(unread[0]
        .2
        .contains("duplicate key `TRACE` (first at line 4)"));
    assert_eq!((unread[1].0.as_str(), unread[1].1), ("pod.yaml", 8));
    assert!(unread[1].2.contains("invalid UTF-8"));
}

#[test]
fn dockerfile_copies_and_relative_workdir() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "Dockerfile",
        "FROM python:3.12-slim\nWORKDIR /srv\nWORKDIR app\nCOPY --from=build /wheels /wheels\nCOPY --chown=app src/ ./\nADD https://example.com/x.tgz /tmp/\nCMD [\"python\", \"server.py\"]\n",
    );
    let d = scan(p);
    let cmd = &d.commands[0];
    assert_eq!(cmd.workdir.as_deref(), Some("/srv/app"));
    assert_eq!(
        cmd.copies,
        [("src/".to_string(), "/srv/app/./".to_string())]
    );
}

#[test]
fn kubernetes_args_each_on_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  containers:\n    - command: [\"python\", \"app.py\"]\n      args:\n        - --port=80\n        - --debug=yes\n",
    );
    let d = scan(p);
    let cmd = d
        .commands
        .iter()
        .find(|c| c.args.iter().any(|a| a == "--debug=yes"))
        .unwrap();
    assert_eq!(cmd.line_of("--port=80"), 7);
    assert_eq!(cmd.line_of("--debug=yes"), 8);
}

#[test]
fn continued_command_arguments_keep_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        "Dockerfile",
        "FROM python:3.12-slim\nCMD python app.py \\\n    --port=80 \\\n    # a comment\n    --debug\n",
    );
    let d = scan(p);
    let cmd = &d.commands[0];
    assert_eq!(cmd.line_of("app.py"), 2);
    assert_eq!(cmd.line_of("--port=80"), 3);
    assert_eq!(cmd.line_of("--debug"), 5);
}
