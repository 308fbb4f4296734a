//! The binary end to end, on a real socket: the README's quick start
//! (`serve --demo`), restarting on the same data directory, and
//! bootstrapping an instance from the command line. Issue 2.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn gongshu(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gongshu"));
    command.arg("--data-dir").arg(data_dir).env("RUST_LOG", "warn").env_remove("GONGSHU_DATABASE_URL");
    command
}

/// A running server, stopped on drop.
struct Server {
    child: Child,
    address: String,
    stderr: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn serve(data_dir: &Path, demo: bool) -> Server {
    let mut command = gongshu(data_dir);
    command.args(["serve", "--listen", "127.0.0.1:0"]).stderr(Stdio::piped()).stdout(Stdio::null());
    if demo {
        command.arg("--demo");
    }
    let mut child = command.spawn().expect("start gongshu");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut stderr = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        stderr.push(line.clone());
        if let Some(rest) = line.strip_prefix("gongshu listening on http://") {
            let address = rest.split_whitespace().next().unwrap().to_owned();
            // Keep draining stderr so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return Server { child, address, stderr };
        }
    }
    child.kill().ok();
    child.wait().ok();
    panic!("gongshu did not start:\n{}", stderr.join("\n"));
}

/// A minimal HTTP/1.1 GET; answers status and body.
fn get(address: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Connection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

#[test]
fn serve_demo_then_restart_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let token_path = dir.path().join("demo-admin-token");
    let token = {
        let server = serve(dir.path(), true);
        assert!(server.stderr.iter().any(|l| l.contains("demo-admin-token")), "{:?}", server.stderr);
        let (status, body) = get(&server.address, "/healthz", None);
        assert_eq!((status, body.contains("ok")), (200, true));
        let (status, body) = get(&server.address, "/api/v1/resources", None);
        assert_eq!(status, 200);
        assert!(body.contains("省级行政区划代码"), "{body}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&token_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let token = std::fs::read_to_string(&token_path).unwrap().trim().to_owned();
        let (status, body) = get(&server.address, "/api/v1/resources?limit=100", Some(&token));
        assert_eq!(status, 200);
        assert!(body.contains("\"total\":18"), "{body}");
        token
    };
    let server = serve(dir.path(), true);
    assert!(server.stderr.iter().any(|l| l.contains("keeping the data")), "{:?}", server.stderr);
    let (status, body) = get(&server.address, "/api/v1/resources?limit=100", Some(&token));
    assert_eq!(status, 200);
    assert!(body.contains("\"total\":18"), "the restart must neither lose nor duplicate: {body}");
    // The search index was kept on disk and is in step; 行政区划:
    let (status, body) = get(&server.address, "/api/v1/search?q=%E8%A1%8C%E6%94%BF%E5%8C%BA%E5%88%92", None);
    assert_eq!(status, 200);
    assert!(body.contains("<b>"), "{body}");
    let busy = gongshu(dir.path()).arg("reindex").output().unwrap();
    assert!(!busy.status.success());
    assert!(String::from_utf8_lossy(&busy.stderr).contains("gongshu serve"), "{busy:?}");
    drop(server);
    let rebuilt = gongshu(dir.path()).arg("reindex").output().unwrap();
    assert!(rebuilt.status.success(), "{rebuilt:?}");
    assert!(String::from_utf8_lossy(&rebuilt.stdout).contains("search index rebuilt"), "{rebuilt:?}");
}

#[test]
fn bootstrap_an_instance_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut child = gongshu(dir.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        }
        let output = child.wait_with_output().unwrap();
        (
            output.status.success(),
            String::from_utf8(output.stdout).unwrap().trim().to_owned(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (ok, bureau, _) =
        run(&["org", "create", "--name-zh", "某市数据局", "--kind", "data_bureau", "--region", "330100"], None);
    assert!(ok);
    let (ok, _, stderr) = run(&["org", "create", "--name-zh", "某部门", "--kind", "ministry", "--region", "33"], None);
    assert!(!ok);
    assert!(stderr.contains("kind") && stderr.contains("region"), "both problems are named: {stderr}");
    let role = format!("{bureau}:admin");
    let (ok, _, stderr) = run(
        &["user", "create", "--username", "ops", "--display-name", "运维", "--password-stdin", "--role", &role],
        Some("a long enough password\n"),
    );
    assert!(ok, "{stderr}");
    let (ok, token, _) = run(&["token", "create", "--username", "ops", "--name", "bootstrap"], None);
    assert!(ok && token.starts_with("gs_"), "{token}");
    let (ok, listing, _) = run(&["org", "list"], None);
    assert!(ok && listing.contains("某市数据局"));

    let server = serve(dir.path(), false);
    let (status, body) = get(&server.address, "/api/v1/me", Some(&token));
    assert_eq!(status, 200);
    assert!(body.contains("\"username\":\"ops\""), "{body}");
}

#[test]
fn import_loads_a_file_as_the_next_version() {
    let dir = tempfile::tempdir().unwrap();
    let weather = {
        let server = serve(dir.path(), true);
        let (_, body) = get(&server.address, "/api/v1/resources?q=%E5%A4%A9%E6%B0%94", None);
        let start = body.find("\"id\":\"").unwrap() + 6;
        body[start..start + 36].to_owned()
    };
    let file = dir.path().join("daily weather.csv");
    std::fs::write(&file, "date,precipitation,temp_max,temp_min,wind,weather\n2016-01-01,0.0,5.6,-2.1,3.1,sun\n")
        .unwrap();
    let import = |user: &str, path: &Path| {
        gongshu(dir.path()).args(["import", "--resource", &weather, "--as-user", user]).arg(path).output().unwrap()
    };
    let output = import("qx-editor", &file);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("as version 2") && stdout.contains("1 rows"), "{stdout}");

    let refused = import("tj-editor", &file);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("forbidden"));
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "a,b\n1,2,3\n").unwrap();
    let failed = import("qx-editor", &bad);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success() && stderr.contains("line 2") && stderr.contains("第 2 行"), "{stderr}");
}

#[test]
fn the_ledger_verifies_from_a_running_instance_and_from_an_export_and_a_change_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("ledger-signing.key");
    let public_key = {
        let server = serve(dir.path(), true);
        let (status, body) = get(&server.address, "/api/v1/ledger", None);
        assert_eq!(status, 200, "{body}");
        let ledger: serde_json::Value = serde_json::from_str(&body).unwrap();
        let public_key = ledger["public_key"].as_str().unwrap().to_owned();
        assert!(public_key.starts_with("gongshu.localhost/ledger+"), "{public_key}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // Against the running instance: the export, the proofs it serves.
        let verified = gongshu(dir.path())
            .args(["ledger", "verify", "--url", &format!("http://{}", server.address), "--key", &public_key])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&verified.stdout).into_owned();
        assert!(verified.status.success(), "{out}\n{}", String::from_utf8_lossy(&verified.stderr));
        assert!(
            out.contains("OK: every checkpoint and entry verifies") && out.contains("proofs served by the instance"),
            "{out}"
        );
        public_key
    };

    // Offline, from an export; then one byte of one entry changed.
    let export = dir.path().join("ledger.ndjson");
    let exported = gongshu(dir.path()).args(["ledger", "export"]).arg(&export).output().unwrap();
    assert!(exported.status.success(), "{exported:?}");
    let verify = |file: &Path, keys: &[&str]| {
        let mut command = gongshu(dir.path());
        command.args(["ledger", "verify", "--file"]).arg(file);
        for key in keys {
            command.args(["--key", key]);
        }
        command.output().unwrap()
    };
    let good = verify(&export, &[&public_key]);
    assert!(good.status.success(), "{}", String::from_utf8_lossy(&good.stdout));
    let text = std::fs::read_to_string(&export).unwrap();
    let line = text.lines().position(|l| l.starts_with("{\"index\":5,")).unwrap();
    let changed: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| if i == line { l.replacen("\\\"v\\\":1", "\\\"v\\\":1 ", 1) } else { l.to_owned() })
        .collect();
    let tampered = dir.path().join("tampered.ndjson");
    std::fs::write(&tampered, changed.join("\n") + "\n").unwrap();
    let bad = verify(&tampered, &[&public_key]);
    let out = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL: entry 5:"), "{out}");
    // Another key is not trusted.
    let other = dir.path().join("other.key");
    let made = gongshu(dir.path()).args(["ledger", "keygen"]).arg(&other).output().unwrap();
    let other_public = String::from_utf8_lossy(&made.stdout).trim().to_owned();
    let untrusted = verify(&export, &[&other_public]);
    assert_eq!(untrusted.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&untrusted.stdout).contains("not signed by a trusted key"));

    // Rotating to that key: a verifier trusting the old key follows it.
    let rotated = gongshu(dir.path()).args(["ledger", "rotate-key"]).arg(&other).output().unwrap();
    assert!(rotated.status.success(), "{rotated:?}");
    std::fs::copy(&other, &key_path).unwrap();
    let created = gongshu(dir.path())
        .args(["org", "create", "--name-zh", "杭州市测试局", "--kind", "department", "--region", "330100"])
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let checkpoint = gongshu(dir.path()).args(["ledger", "checkpoint"]).output().unwrap();
    assert!(checkpoint.status.success(), "{checkpoint:?}");
    let again = dir.path().join("again.ndjson");
    assert!(gongshu(dir.path()).args(["ledger", "export"]).arg(&again).output().unwrap().status.success());
    let followed = verify(&again, &[&public_key]);
    let out = String::from_utf8_lossy(&followed.stdout);
    assert!(followed.status.success(), "{out}");
    assert!(out.contains(&other_public), "{out}");
}
