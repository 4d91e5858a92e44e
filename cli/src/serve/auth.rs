//! Who may call the server. Without credentials configured, everyone (the
//! server then binds to loopback unless told otherwise). With
//! `--token-file`, a request carries `authorization: Bearer <token>`; with
//! `--user/--password-file`, either `authorization: Basic ...` on any
//! request or a bearer token the Flight handshake issued for it (ADBC and
//! the JDBC driver handshake once per connection). Comparisons are
//! constant-time; failures are logged with the user name, never the secret.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use rand::RngCore;
use subtle::ConstantTimeEq;
use tonic::metadata::MetadataMap;
use tonic::{Request, Status};

/// The authenticated caller, put in each request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub String);

/// Tokens the handshake issued, at most this many (the oldest go first).
const MOST_TOKENS: usize = 10_000;

#[derive(Default)]
pub struct Auth {
    token: Option<String>,
    user: Option<(String, String)>,
    issued: Mutex<Vec<(String, String)>>,
}

impl Auth {
    pub fn new(token: Option<String>, user: Option<(String, String)>) -> Self {
        Self {
            token,
            user,
            issued: Mutex::new(Vec::new()),
        }
    }

    /// True when requests need credentials.
    pub fn required(&self) -> bool {
        self.token.is_some() || self.user.is_some()
    }

    /// The caller of a request with `metadata`, or Unauthenticated.
    pub fn check(&self, metadata: &MetadataMap) -> Result<Caller, Status> {
        if !self.required() {
            return Ok(Caller("anonymous".to_string()));
        }
        let header = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Status::unauthenticated("credentials required"))?;
        if let Some(token) = strip_scheme(header, "bearer") {
            if let Some(t) = &self.token
                && equal(t, token)
            {
                return Ok(Caller("token".to_string()));
            }
            let issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
            // Every issued token is compared (no early exit on a match).
            let mut found = None;
            for (t, user) in issued.iter() {
                if equal(t, token) {
                    found = Some(user.clone());
                }
            }
            return found.map(Caller).ok_or_else(|| {
                tracing::warn!("rejected a request with an unknown bearer token");
                Status::unauthenticated("invalid bearer token")
            });
        }
        if let Some(encoded) = strip_scheme(header, "basic") {
            // Padded (RFC 7617) or not (Go's Flight client, so ADBC's).
            const BASE64: GeneralPurpose = GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                GeneralPurposeConfig::new()
                    .with_decode_padding_mode(DecodePaddingMode::Indifferent),
            );
            let decoded = BASE64
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| Status::unauthenticated("malformed basic credentials"))?;
            let (user, password) = decoded
                .split_once(':')
                .ok_or_else(|| Status::unauthenticated("malformed basic credentials"))?;
            if let Some((u, p)) = &self.user {
                // Both compared, whatever the first gives.
                let ok = equal(u, user) & equal(p, password);
                if ok {
                    return Ok(Caller(user.to_string()));
                }
            }
            tracing::warn!(user, "rejected a wrong user name or password");
            return Err(Status::unauthenticated("wrong user name or password"));
        }
        Err(Status::unauthenticated(
            "unsupported authorization scheme (use Bearer or Basic)",
        ))
    }

    /// A new bearer token for `caller` (the handshake's answer).
    pub fn issue(&self, caller: &Caller) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        if issued.len() >= MOST_TOKENS {
            issued.remove(0);
        }
        issued.push((token.clone(), caller.0.clone()));
        token
    }
}

fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, rest) = header.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then_some(rest.trim())
}

/// Constant-time equality of two secrets (their lengths may differ).
fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The interceptor every request passes: it authenticates the caller and
/// puts it in the request's extensions.
pub fn interceptor(
    auth: Arc<Auth>,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |mut request: Request<()>| {
        let caller = auth.check(request.metadata())?;
        request.extensions_mut().insert(caller);
        Ok(request)
    }
}

/// The caller the interceptor found.
pub fn caller<T>(request: &Request<T>) -> Caller {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or_else(|| Caller("anonymous".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose;

    fn with(header: &str) -> MetadataMap {
        let mut m = MetadataMap::new();
        m.insert("authorization", header.parse().unwrap());
        m
    }

    #[test]
    fn credentials_are_checked() {
        let open = Auth::new(None, None);
        assert!(open.check(&MetadataMap::new()).is_ok());

        let auth = Auth::new(
            Some("s3cret-token".into()),
            Some(("ada".into(), "pw".into())),
        );
        let e = auth.check(&MetadataMap::new()).unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        assert!(auth.check(&with("Bearer s3cret-token")).is_ok());
        assert!(auth.check(&with("Bearer s3cret-tokeN")).is_err());
        let basic = |u: &str, p: &str| {
            format!(
                "Basic {}",
                general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        };
        let unpadded = format!(
            "Basic {}",
            general_purpose::STANDARD_NO_PAD.encode("ada:pw")
        );
        assert!(auth.check(&with(&unpadded)).is_ok());
        assert_eq!(
            auth.check(&with(&basic("ada", "pw"))).unwrap(),
            Caller("ada".into())
        );
        let e = auth.check(&with(&basic("ada", "wrong"))).unwrap_err();
        assert!(!e.message().contains("wrong\""), "{e}");
        assert!(auth.check(&with(&basic("bob", "pw"))).is_err());
        assert!(auth.check(&with("Basic !!!")).is_err());
        let token = auth.issue(&Caller("ada".into()));
        assert_eq!(
            auth.check(&with(&format!("Bearer {token}"))).unwrap(),
            Caller("ada".into())
        );
        assert!(auth.check(&with("Digest x")).is_err());
    }
}
