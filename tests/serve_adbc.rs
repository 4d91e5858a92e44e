//! `fsql serve` from Python through ADBC's Flight SQL driver, as the README
//! shows it: credentials, a script, a bound parameter, pandas, a million
//! rows, errors and metadata (tests/support/adbc_client.py). The test
//! makes its own venv (adbc_driver_flightsql, pyarrow, pandas, and
//! cryptography for a self-signed certificate) under
//! cargo's target tmp dir, so a fresh machine with `python3` passes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const FSQL: &str = env!("CARGO_BIN_EXE_fsql");

fn make_venv() -> PathBuf {
    fsql_tests::python::venv_with(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-venv"),
        &["adbc_driver_flightsql", "pyarrow", "pandas", "cryptography"],
        &[
            "adbc_driver_flightsql",
            "adbc_driver_manager",
            "pyarrow",
            "pandas",
            "cryptography",
        ],
    )
}

fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(make_venv).clone()
}

/// Starts `fsql serve` with `args`; the child and its address.
fn start(dir: &Path, args: &[&std::ffi::OsStr]) -> (std::process::Child, String) {
    let log = dir.join("serve.log");
    let mut server = Command::new(FSQL)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(args)
        .arg("--model-dir")
        .arg(dir.join("models"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address: {line}"))
        .to_string();
    (server, addr)
}

/// A self-signed certificate for 127.0.0.1 and localhost, made with the
/// venv's `cryptography`: (certificate, key) PEM files.
fn certificate(python: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let script = r#"
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
    .public_key(key.public_key()).serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(days=1))
    .not_valid_after(now + datetime.timedelta(days=2))
    .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    .sign(key, hashes.SHA256()))
open(sys.argv[1], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(sys.argv[2], "wb").write(key.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
"#;
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new(python)
        .args(["-c", script])
        .arg(&cert)
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    (cert, key)
}

#[test]
fn python_adbc_over_tls() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(&python, dir.path());
    let (mut server, addr) = start(
        dir.path(),
        &[
            "--tls-cert".as_ref(),
            cert.as_os_str(),
            "--tls-key".as_ref(),
            key.as_os_str(),
        ],
    );
    let script = r#"
import sys
import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
addr, cert = sys.argv[1], open(sys.argv[2]).read()
opts = {"adbc.flight.sql.client_option.tls_root_certs": cert}
with flight_sql.connect(f"grpc+tls://{addr}", db_kwargs=opts, autocommit=True) as conn:
    with conn.cursor() as cur:
        cur.execute("SELECT 'over tls' AS s")
        assert cur.fetchone() == ("over tls",)
print("tls ok")
try:
    with flight_sql.connect(f"grpc://{addr}", autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchall()
    raise SystemExit("plaintext worked against a TLS server")
except adbc_driver_manager.Error:
    print("plaintext refused")
"#;
    let out = Command::new(&python)
        .args(["-c", script, &addr])
        .arg(&cert)
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("tls ok") && stdout.contains("plaintext refused"),
        "{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default()
    );
}

#[test]
fn python_adbc_client() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "adbc-test-token").unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "adbc-pass").unwrap();
    let (mut server, addr) = start(
        dir.path(),
        &[
            "--user".as_ref(),
            "ada".as_ref(),
            "--password-file".as_ref(),
            password.as_os_str(),
            "--token-file".as_ref(),
            token.as_os_str(),
        ],
    );
    let log = dir.path().join("serve.log");
    let client = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/support/adbc_client.py"
    );
    let out = Command::new(&python)
        .arg(client)
        .arg(format!("grpc://{addr}"))
        .args(["ada", "adbc-pass", "adbc-test-token"])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client failed:\n{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    for check in [
        "basic auth ok",
        "wrong password refused",
        "script ok",
        "parameter and pandas ok",
        "million rows ok",
        "error ok",
        "ingest ok",
        "metadata ok",
    ] {
        assert!(stdout.contains(check), "{check}: {stdout}");
    }
}
