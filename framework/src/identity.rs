//! Who a socket is: [`Identity`], made once from the Socket.IO handshake `auth` object.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{AuthConfig, AuthMode};

/// The authenticated user behind a socket. Handlers read it from the event context and
/// never trust ids carried in event payloads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Stable user id (`sub` claim, or `auth.userId` in dev mode).
    pub user_id: String,
    /// Display name (`name` claim, or `auth.userName`); falls back to the user id.
    pub name: String,
    /// Roles, e.g. `agent`.
    pub roles: Vec<String>,
}

impl Identity {
    /// True when the identity carries `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// Why a handshake was refused. The `Display` text is what the client sees as the
/// `connect_error` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// JWT mode and no `auth.token` string.
    #[error("authentication required: send auth.token (an HS256 JWT)")]
    MissingToken,
    /// The token failed verification.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// Dev mode and no usable `auth.userId`.
    #[error("dev auth: auth.userId must be a non-empty string of at most 256 chars")]
    MissingUserId,
    /// The server is shutting down and refuses new sockets.
    #[error("server is shutting down")]
    ShuttingDown,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

/// Turns handshake `auth` objects into identities according to the configured mode.
#[derive(Clone)]
pub struct Authenticator {
    mode: AuthMode,
    key: Option<Arc<DecodingKey>>,
    validation: Arc<Validation>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

const MAX_ID_LEN: usize = 256;

impl Authenticator {
    /// Builds the authenticator; in JWT mode the secret must be non-empty.
    pub fn new(cfg: &AuthConfig) -> Result<Self, crate::HostError> {
        let key = match cfg.mode {
            AuthMode::Jwt if cfg.jwt_secret.is_empty() => {
                return Err(crate::HostError::Config(
                    "auth.mode = \"jwt\" needs auth.jwt_secret (env PLUGBOARD_AUTH__JWT_SECRET)"
                        .into(),
                ));
            }
            AuthMode::Jwt => Some(Arc::new(DecodingKey::from_secret(
                cfg.jwt_secret.as_bytes(),
            ))),
            AuthMode::Dev => None,
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims = ["sub"].into_iter().map(String::from).collect();
        validation.validate_exp = true;
        // jsonwebtoken allows 60 s of clock skew by default; a few seconds is enough.
        validation.leeway = 5;
        // Tokens without `exp` are accepted; tokens with an expired `exp` are not.
        validation.required_spec_claims.remove("exp");
        Ok(Self {
            mode: cfg.mode,
            key,
            validation: Arc::new(validation),
        })
    }

    /// The configured mode.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Makes an identity from the handshake `auth` object.
    pub fn authenticate(&self, auth: &Value) -> Result<Identity, AuthError> {
        match self.mode {
            AuthMode::Jwt => self.verify_jwt(auth),
            AuthMode::Dev => dev_identity(auth),
        }
    }

    fn verify_jwt(&self, auth: &Value) -> Result<Identity, AuthError> {
        let token = auth
            .get("token")
            .and_then(Value::as_str)
            .ok_or(AuthError::MissingToken)?;
        let key = self.key.as_ref().ok_or(AuthError::MissingToken)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map_err(|e| AuthError::InvalidToken(e.to_string()))?;
        let c = data.claims;
        if c.sub.is_empty() || c.sub.len() > MAX_ID_LEN {
            return Err(AuthError::InvalidToken("sub must be 1..=256 chars".into()));
        }
        let name = c
            .name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| c.sub.clone());
        Ok(Identity {
            user_id: c.sub,
            name,
            roles: c.roles,
        })
    }
}

fn dev_identity(auth: &Value) -> Result<Identity, AuthError> {
    let user_id = auth
        .get("userId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= MAX_ID_LEN)
        .ok_or(AuthError::MissingUserId)?
        .to_owned();
    let name = auth
        .get("userName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(MAX_ID_LEN).collect())
        .unwrap_or_else(|| user_id.clone());
    let roles = auth
        .get("roles")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    Ok(Identity {
        user_id,
        name,
        roles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    fn jwt_auth() -> Authenticator {
        Authenticator::new(&AuthConfig {
            mode: AuthMode::Jwt,
            jwt_secret: "s3cret".into(),
        })
        .unwrap()
    }

    fn token(secret: &str, claims: Value) -> String {
        jsonwebtoken::encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn valid_token_gives_identity_with_roles() {
        let t = token(
            "s3cret",
            json!({"sub": "u1", "name": "Ann", "roles": ["agent"]}),
        );
        let id = jwt_auth().authenticate(&json!({ "token": t })).unwrap();
        assert_eq!(
            id,
            Identity {
                user_id: "u1".into(),
                name: "Ann".into(),
                roles: vec!["agent".into()]
            }
        );
    }

    #[test]
    fn token_signed_with_another_secret_is_refused() {
        let t = token("other", json!({"sub": "u1"}));
        assert!(matches!(
            jwt_auth().authenticate(&json!({ "token": t })),
            Err(AuthError::InvalidToken(_))
        ));
    }

    #[test]
    fn expired_token_is_refused() {
        let exp = jsonwebtoken::get_current_timestamp() - 30;
        let t = token("s3cret", json!({"sub": "u1", "exp": exp}));
        assert!(matches!(
            jwt_auth().authenticate(&json!({ "token": t })),
            Err(AuthError::InvalidToken(_))
        ));
    }

    #[test]
    fn missing_token_is_refused() {
        assert_eq!(
            jwt_auth().authenticate(&json!({})),
            Err(AuthError::MissingToken)
        );
    }

    #[test]
    fn jwt_mode_without_secret_is_a_config_error() {
        assert!(
            Authenticator::new(&AuthConfig {
                mode: AuthMode::Jwt,
                jwt_secret: String::new()
            })
            .is_err()
        );
    }

    #[test]
    fn dev_mode_takes_user_fields_as_given() {
        let id = dev_identity(&json!({"userId": "a1", "userName": "Al", "roles": ["agent", 3]}))
            .unwrap();
        assert_eq!(
            id,
            Identity {
                user_id: "a1".into(),
                name: "Al".into(),
                roles: vec!["agent".into()]
            }
        );
        assert_eq!(
            dev_identity(&json!({"userId": 7})),
            Err(AuthError::MissingUserId)
        );
    }
}
