//! AWS's shared profile files (`~/.aws/credentials`, `~/.aws/config`), which
//! the `object_store` crate does not read itself: the keys, session token,
//! region and endpoint of the profile in `AWS_PROFILE` (or a statement's
//! `profile=` option; else `default`), as the AWS CLI and SDKs read them.
//! `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE` move the files.
//! Settings in the environment win over the profile's, as in the SDKs.
//! SSO sessions and `credential_process` are not read.

use std::path::PathBuf;

use object_store::aws::AmazonS3ConfigKey;

/// The settings of `profile` (or the environment's) that the environment
/// does not already give.
pub(crate) fn settings(profile: Option<&str>) -> Vec<(AmazonS3ConfigKey, String)> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    // A profile a statement names wins over keys in the environment; one
    // chosen by AWS_PROFILE does not (the SDKs' default chain).
    let explicit = profile.is_some();
    let name = profile
        .map(str::to_string)
        .or_else(|| env("AWS_PROFILE"))
        .unwrap_or_else(|| "default".to_string());
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    let credentials = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".aws/credentials")));
    let config = env("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".aws/config")));
    let read = |path: Option<PathBuf>, section: &str| -> Vec<(String, String)> {
        let Some(path) = path else {
            return Vec::new();
        };
        let Ok(ini) = ini::Ini::load_from_file_noescape(&path) else {
            return Vec::new();
        };
        ini.section(Some(section))
            .map(|p| {
                p.iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let config_section = if name == "default" {
        "default".to_string()
    } else {
        format!("profile {name}")
    };
    let mut found = read(config, &config_section);
    // The credentials file wins over the config file for the same key.
    found.extend(read(credentials, &name));
    let mut out = Vec::new();
    let keys_in_env = env("AWS_ACCESS_KEY_ID").is_some();
    for (key, value) in found.iter().rev() {
        let (target, from_env) = match key.as_str() {
            "aws_access_key_id" => (AmazonS3ConfigKey::AccessKeyId, keys_in_env),
            "aws_secret_access_key" => (AmazonS3ConfigKey::SecretAccessKey, keys_in_env),
            "aws_session_token" => (AmazonS3ConfigKey::Token, keys_in_env),
            "region" => (
                AmazonS3ConfigKey::Region,
                env("AWS_REGION")
                    .or_else(|| env("AWS_DEFAULT_REGION"))
                    .is_some(),
            ),
            "endpoint_url" => (
                AmazonS3ConfigKey::Endpoint,
                env("AWS_ENDPOINT_URL_S3")
                    .or_else(|| env("AWS_ENDPOINT_URL"))
                    .is_some(),
            ),
            _ => continue,
        };
        if (from_env && !explicit) || out.iter().any(|(k, _)| *k == target) {
            continue;
        }
        out.push((target, value.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test changes the process environment; the others do not read it.
    #[test]
    fn a_profile_gives_keys_region_and_endpoint() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("credentials");
        let config = dir.path().join("config");
        std::fs::write(
            &creds,
            "[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = s/ecret+1\n\n[prod]\naws_access_key_id=AKPROD\naws_secret_access_key=s2\naws_session_token=tok\n",
        )
        .unwrap();
        std::fs::write(
            &config,
            "[default]\nregion = eu-west-1\n[profile prod]\nregion=us-west-2\nendpoint_url = http://127.0.0.1:9000\n",
        )
        .unwrap();
        // SAFETY: this is the only test in the crate touching these variables.
        unsafe {
            std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &creds);
            std::env::set_var("AWS_CONFIG_FILE", &config);
            std::env::remove_var("AWS_PROFILE");
            std::env::remove_var("AWS_ACCESS_KEY_ID");
            std::env::remove_var("AWS_REGION");
            std::env::remove_var("AWS_DEFAULT_REGION");
        }
        let get = |s: &[(AmazonS3ConfigKey, String)], k: AmazonS3ConfigKey| {
            s.iter().find(|(x, _)| *x == k).map(|(_, v)| v.clone())
        };
        let d = settings(None);
        assert_eq!(
            get(&d, AmazonS3ConfigKey::AccessKeyId).as_deref(),
            Some("AKDEFAULT")
        );
        assert_eq!(
            get(&d, AmazonS3ConfigKey::SecretAccessKey).as_deref(),
            Some("s/ecret+1")
        );
        assert_eq!(
            get(&d, AmazonS3ConfigKey::Region).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(get(&d, AmazonS3ConfigKey::Token), None);
        let p = settings(Some("prod"));
        assert_eq!(
            get(&p, AmazonS3ConfigKey::AccessKeyId).as_deref(),
            Some("AKPROD")
        );
        assert_eq!(get(&p, AmazonS3ConfigKey::Token).as_deref(), Some("tok"));
        assert_eq!(
            get(&p, AmazonS3ConfigKey::Region).as_deref(),
            Some("us-west-2")
        );
        assert_eq!(
            get(&p, AmazonS3ConfigKey::Endpoint).as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert!(settings(Some("missing")).is_empty());
        unsafe {
            std::env::remove_var("AWS_SHARED_CREDENTIALS_FILE");
            std::env::remove_var("AWS_CONFIG_FILE");
        }
    }
}
