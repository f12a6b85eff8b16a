//! Issuer signing keys and their rotation.
//!
//! Each chain of keys (see below) signs with one `current` key and publishes, beside it, the `next` key (so
//! relying parties have it before it signs anything) and the `previous` one (so tokens it
//! signed still verify). Rotation moves every key one step: current → previous, next →
//! current, and a new next is made; a previous key is retired only once every token it can
//! have signed has expired (it has been previous for longer than the issuer's longest token
//! lifetime), so rotating twice in a row never invalidates a live token. An issuer gets its first
//! keys (current and next of each chain) when it first needs one: creating an issuer costs
//! nothing until it is used. (`tessera dev seed` writes those first keys itself, made by
//! `Core::first_keys` from shared RSA material: see `seed`.)
//!
//! **Algorithms and chains.** Every key has one algorithm for life, and each algorithm an
//! issuer signs with has its own chain of keys (current, next, previous), rotated together.
//! An issuer keeps the chain of the algorithm its settings name (`settings.signing_algorithm()`:
//! ES256, the default, RS256 or EdDSA), which signs access tokens and, by default, ID tokens,
//! and, when that algorithm is not RS256, an RS256 chain too: OIDC Discovery 1.0 §3 requires
//! RS256 among `id_token_signing_alg_values_supported`, and a client may ask for RS256 ID
//! tokens (`id_token_signed_response_alg`). Both chains are made together on first use. The JWKS holds every non-retired key of every
//! chain, each with its `alg`; verification takes each token's `alg` only from the key its
//! `kid` names.
//!
//! Changing the setting makes no key at once. If the new algorithm's chain exists (RS256 always
//! does), it signs from the next time this node loads the issuer's keys; the update drops them
//! from the cache. Otherwise the next load makes that chain's `next` key, published but not
//! signing, and until the rotation that makes it current another chain's current key signs
//! (one other than RS256 if there is one, as that is most likely the one that signed). A
//! chain the settings no longer need winds down at each rotation: its next key is retired (it
//! never signed), its current key becomes previous, and its previous keys retire by the usual
//! rule. An RSA key takes a tenth of a second or more to make, so keys are made on the blocking
//! pool, never on an async worker.
//!
//! Private keys are stored sealed with the master key, bound to their key id. Parsed keys are
//! cached per node (see `cache`), so the token endpoint neither reads the database nor parses a
//! key per request; a rotation drops the entry on every node (`Change::Keys`). Nodes that make
//! an issuer's first keys at the same moment store one chain per algorithm between them
//! (`KeyRepo::create_chains`), so they all publish and sign with the same keys.

use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};
use tessera_crypto::jwk::verifying_key;
use tessera_crypto::jws::{Algorithm, Signer, VerifyingKey};
use tessera_model::{Actor, Issuer, KeyAlgorithm, KeyId, KeyState, NewEvent, SigningKey};
use tessera_store::{Change, IssuerScope};

use crate::users::shutting_down;
use crate::{Core, CoreError};

/// An issuer's published keys, as the token paths use them: the signer of new tokens, the
/// current keys of its other chains, the JWKS document, and the keys tokens are verified
/// against.
///
/// Only what every token needs is parsed when the keys are loaded: the default signer. A node
/// holds these for every issuer it serves (see `cache`), and a parsed RSA key is a few
/// kilobytes, so the rest waits until it is used. Another chain's current key (the RS256
/// chain beside an ES256 or EdDSA one signs only the ID tokens of clients that ask for RS256)
/// is read from the store and parsed on first use ([`Core::signer_for`]): until then only
/// its id is kept, as its unsealed PKCS#8 document alone was a sixth of an active issuer's
/// memory. The verifying keys are read from the JWKS on first use (issuing a
/// client-credentials token verifies nothing). Next and previous keys never sign, so their
/// private halves are not even unsealed. A stored key that turns out not to parse is an
/// error when it is first needed, as it was on loading when every key was parsed then.
#[derive(Debug)]
pub struct IssuerKeys {
    /// The current key of the settings' chain, or while that chain has no current key yet,
    /// the one that signed before: it signs access tokens and, by default, ID tokens.
    default: Signer,
    /// The current keys of the other chains, one per algorithm, by id. (Boxed slices and `str`
    /// rather than `Vec` and `String`: a node keeps this for every active issuer, and the
    /// spare capacity of a grown buffer was a quarter of it.)
    others: Box<[LazySigner]>,
    /// The JWKS document, serialized once from the keys' stored public halves: the endpoint
    /// sends it as is.
    jwks: Box<str>,
    /// Every published key, read from `jwks` when first needed (or why one could not be).
    verifying: OnceLock<Result<Vec<VerifyingKey>, String>>,
    /// What these were parsed from: each stored key's id and state, and the settings'
    /// algorithm. When a cached copy's time is up and the store still says the same, the copy
    /// is kept instead of parsed again (unsealing and parsing an RSA key is the costly part).
    source: (Vec<(KeyId, KeyState)>, KeyAlgorithm),
}

/// Another chain's current key: only its id is kept until it first signs, when it is read
/// from the store, unsealed and parsed.
#[derive(Debug)]
struct LazySigner {
    algorithm: Algorithm,
    id: KeyId,
    /// The parsed key, boxed so that its room is taken only once it is parsed.
    parsed: OnceLock<Box<Signer>>,
}

impl IssuerKeys {
    fn is_parsed_from(&self, issuer: &Issuer, stored: &[SigningKey]) -> bool {
        self.is_parsed_from_states(
            issuer.settings.signing_algorithm(),
            stored.iter().map(|key| (key.id, key.state)),
        )
    }

    /// Whether these keys were parsed for an issuer signing with `algorithm` whose keys that
    /// are not retired are `stored` (ids and states, in the store's order).
    pub(crate) fn is_parsed_from_states(
        &self,
        algorithm: KeyAlgorithm,
        stored: impl IntoIterator<Item = (KeyId, KeyState)>,
    ) -> bool {
        self.source.1 == algorithm && self.source.0.iter().copied().eq(stored)
    }
}

impl IssuerKeys {
    /// The `current` key of the settings' algorithm: it signs access tokens, and ID tokens
    /// unless the client asked for another algorithm.
    pub fn signer(&self) -> &Signer {
        &self.default
    }

    /// The algorithms ID tokens can be signed with (OIDC Discovery 1.0 §3
    /// `id_token_signing_alg_values_supported`): the default signer's and RS256.
    pub fn id_token_algorithms(&self) -> Vec<Algorithm> {
        let mut algorithms = vec![self.default.algorithm()];
        if self.default.algorithm() != Algorithm::Rs256
            && self
                .others
                .iter()
                .any(|key| key.algorithm == Algorithm::Rs256)
        {
            algorithms.push(Algorithm::Rs256);
        }
        algorithms
    }

    /// Every published key, read from the JWKS the first time.
    ///
    /// # Errors
    /// [`CoreError::Invalid`] when a stored public key does not read as a key (as it was when
    /// every key was parsed on loading).
    pub fn verifying_keys(&self) -> Result<&[VerifyingKey], CoreError> {
        self.verifying
            .get_or_init(|| {
                let jwks: Value = serde_json::from_str(&self.jwks).map_err(|e| e.to_string())?;
                jwks["keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|jwk| {
                        verifying_key(jwk)
                            .map_err(|e| format!("the published key {}: {e}", jwk["kid"]))
                    })
                    .collect()
            })
            .as_deref()
            .map_err(|e| CoreError::Invalid(e.to_owned()))
    }

    /// The JWKS document (RFC 7517 §5), as JSON text.
    pub fn jwks(&self) -> &str {
        &self.jwks
    }
}

fn sealing_purpose(id: KeyId) -> Vec<u8> {
    format!("tessera/signing-key/{id}").into_bytes()
}

/// The algorithms whose chains the issuer keeps: its settings' and RS256.
fn kept_algorithms(issuer: &Issuer) -> Vec<KeyAlgorithm> {
    let configured = issuer.settings.signing_algorithm();
    if configured == KeyAlgorithm::Rs256 {
        vec![configured]
    } else {
        vec![configured, KeyAlgorithm::Rs256]
    }
}

pub(crate) fn jws_algorithm(algorithm: KeyAlgorithm) -> Algorithm {
    match algorithm {
        KeyAlgorithm::Es256 => Algorithm::Es256,
        KeyAlgorithm::Rs256 => Algorithm::Rs256,
        KeyAlgorithm::EdDsa => Algorithm::EdDsa,
    }
}

/// The event of a key's creation.
fn key_created(key: &SigningKey) -> NewEvent {
    NewEvent::new(
        "key.created",
        key.id,
        Actor::System,
        json!({ "alg": key.algorithm.as_str(), "state": key.state.as_str() }),
        key.created_at,
    )
}

/// What a stored key is made of before it has an id: a key pair's private half (PKCS#8) and
/// its public JWK without a `kid`. Every key the server makes has material of its own;
/// `tessera dev seed` gives its issuers' RS256 chains material from a small shared pool
/// (see `seed`), as making RSA keys for ten thousand issuers would take half an hour.
#[derive(Clone)]
pub(crate) struct KeyMaterial {
    algorithm: KeyAlgorithm,
    pkcs8: Vec<u8>,
    public_jwk: Value,
}

impl KeyMaterial {
    /// A new key pair, made on this thread: an RSA key takes 100 ms or more, so async callers
    /// use [`Self::generate`].
    pub(crate) fn generate_here(algorithm: KeyAlgorithm) -> Result<Self, CoreError> {
        // The kid is set per stored key (`Core::key_from_material`).
        let (signer, pkcs8) = Signer::generate(jws_algorithm(algorithm), "")
            .map_err(|e| CoreError::Invalid(e.to_string()))?;
        Ok(Self {
            algorithm,
            pkcs8,
            public_jwk: signer.public_jwk(),
        })
    }

    /// A new key pair, made on the blocking pool, never on an async worker.
    pub(crate) async fn generate(algorithm: KeyAlgorithm) -> Result<Self, CoreError> {
        match tokio::task::spawn_blocking(move || Self::generate_here(algorithm)).await {
            Ok(material) => material,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(shutting_down(Box::new(e))),
        }
    }
}

impl Core {
    /// The issuer's keys, made on first use.
    pub async fn issuer_keys(&self, issuer: &Issuer) -> Result<Arc<IssuerKeys>, CoreError> {
        let now = self.clock.now();
        if let Some(keys) = self.keys.get(&issuer.id, now) {
            return Ok(keys);
        }
        let before = self.keys.generation();
        let scope = IssuerScope::of(issuer);
        let mut stored = self.store.keys().list_active(scope).await?;
        let is_first_use = !stored.iter().any(|k| k.state == KeyState::Current);
        let mut chains = Vec::new();
        for algorithm in kept_algorithms(issuer) {
            let has_chain = stored.iter().any(|k| {
                k.algorithm == algorithm && matches!(k.state, KeyState::Current | KeyState::Next)
            });
            if has_chain {
                continue;
            }
            // A new chain beside keys already in use starts with its next key only, so that it
            // is published before it signs (see the module docs on changing the setting).
            if is_first_use {
                chains.push(self.new_key(issuer, algorithm, KeyState::Current).await?);
            }
            chains.push(self.new_key(issuer, algorithm, KeyState::Next).await?);
        }
        if !chains.is_empty() {
            // Stored all together unless another node started one of these chains meanwhile:
            // then its keys are the issuer's, read below, and these are dropped unused.
            let chains: Vec<_> = chains
                .into_iter()
                .map(|key| {
                    let event = key_created(&key);
                    (key, event)
                })
                .collect();
            self.store.keys().create_chains(scope, &chains).await?;
            stored = self.store.keys().list_active(scope).await?;
        }
        let keys = match self.keys.get_expired(&issuer.id) {
            Some(cached) if cached.is_parsed_from(issuer, &stored) => cached,
            _ => Arc::new(self.parse_keys(issuer, &stored)?),
        };
        self.keys.put(issuer.id, keys.clone(), now, before);
        Ok(keys)
    }

    /// The issuer's keys that are not retired, oldest first (for the Core API).
    pub async fn list_keys(&self, issuer: &Issuer) -> Result<Vec<SigningKey>, CoreError> {
        self.issuer_keys(issuer).await?;
        Ok(self
            .store
            .keys()
            .list_active(IssuerScope::of(issuer))
            .await?)
    }

    /// Moves every key one step along previous ← current ← next ← new.
    pub async fn rotate_keys(&self, issuer: &Issuer, actor: Actor) -> Result<(), CoreError> {
        let scope = IssuerScope::of(issuer);
        self.issuer_keys(issuer).await?;
        let keys = self.store.keys().list_active(scope).await?;
        let now = self.clock.now();
        let step = |key: &SigningKey, to: KeyState| {
            NewEvent::new(
                "key.state_changed",
                key.id,
                actor,
                json!({ "from": key.state.as_str(), "to": to.as_str() }),
                now,
            )
        };
        // A key stopped signing when it became previous (`updated_at`); its tokens live at
        // most the longest token lifetime after that: the issuer's, or a client's own.
        let longest = issuer
            .settings
            .access_token_lifetime()
            .max(issuer.settings.id_token_lifetime())
            .max(
                self.store
                    .clients()
                    .longest_lifetime_override(scope)
                    .await?
                    .unwrap_or(0),
            );
        let kept = kept_algorithms(issuer);
        let is_kept = |key: &SigningKey| kept.contains(&key.algorithm);
        // Every new key pair is made before anything changes: generation is the step that can
        // fail (an RSA key takes 100 ms or more on the blocking pool), and failing halfway
        // would leave a chain without a published next key.
        let mut fresh_current = Vec::new();
        for &algorithm in &kept {
            let has_next = keys
                .iter()
                .any(|k| k.algorithm == algorithm && k.state == KeyState::Next);
            if !has_next {
                fresh_current.push(self.new_key(issuer, algorithm, KeyState::Current).await?);
            }
        }
        let mut fresh_next = Vec::new();
        for &algorithm in &kept {
            fresh_next.push(self.new_key(issuer, algorithm, KeyState::Next).await?);
        }
        // Order matters for readers in between: a current key always exists.
        for key in keys
            .iter()
            .filter(|k| k.state == KeyState::Previous && k.updated_at.plus_seconds(longest) <= now)
        {
            let event = step(key, KeyState::Retired);
            self.store
                .keys()
                .set_state(scope, key.id, KeyState::Retired, &event)
                .await?;
        }
        // A next key signs from now on if its chain is kept; otherwise it never signed and
        // retires at once.
        for key in keys.iter().filter(|k| k.state == KeyState::Next) {
            let to = if is_kept(key) {
                KeyState::Current
            } else {
                KeyState::Retired
            };
            let event = step(key, to);
            self.store
                .keys()
                .set_state(scope, key.id, to, &event)
                .await?;
        }
        for key in &fresh_current {
            self.store_key(issuer, key).await?;
        }
        for key in keys.iter().filter(|k| k.state == KeyState::Current) {
            let event = step(key, KeyState::Previous);
            self.store
                .keys()
                .set_state(scope, key.id, KeyState::Previous, &event)
                .await?;
        }
        for key in &fresh_next {
            self.store_key(issuer, key).await?;
        }
        self.store
            .events()
            .append(
                scope,
                &NewEvent::new("key.rotated", issuer.id, actor, json!({}), now),
            )
            .await?;
        self.invalidate(Change::Keys(issuer.id)).await;
        Ok(())
    }

    /// A new key pair, its private half sealed with the master key; not stored yet.
    async fn new_key(
        &self,
        issuer: &Issuer,
        algorithm: KeyAlgorithm,
        state: KeyState,
    ) -> Result<SigningKey, CoreError> {
        let material = KeyMaterial::generate(algorithm).await?;
        Ok(self.key_from_material(issuer, &material, state))
    }

    /// `material` as a key of `issuer` in `state`, not stored yet: a new id, which is its
    /// `kid`, and the private half sealed with the master key, bound to that id.
    pub(crate) fn key_from_material(
        &self,
        issuer: &Issuer,
        material: &KeyMaterial,
        state: KeyState,
    ) -> SigningKey {
        let id = KeyId::new();
        let mut public_jwk = material.public_jwk.clone();
        public_jwk["kid"] = Value::from(id.to_string());
        let now = self.clock.now();
        SigningKey {
            id,
            issuer_id: issuer.id,
            algorithm: material.algorithm,
            state,
            public_jwk: public_jwk.to_string(),
            private_key_sealed: self.master_key.seal(&sealing_purpose(id), &material.pkcs8),
            created_at: now,
            updated_at: now,
        }
    }

    /// The keys a new issuer starts with, not stored yet: a current and a next key of every
    /// chain it keeps, as [`Self::issuer_keys`] makes them on first use, from the material
    /// `material` gives for each algorithm.
    pub(crate) fn first_keys(
        &self,
        issuer: &Issuer,
        mut material: impl FnMut(KeyAlgorithm) -> Result<KeyMaterial, CoreError>,
    ) -> Result<Vec<SigningKey>, CoreError> {
        let mut keys = Vec::new();
        for algorithm in kept_algorithms(issuer) {
            for state in [KeyState::Current, KeyState::Next] {
                let material = material(algorithm)?;
                if material.algorithm != algorithm {
                    return Err(CoreError::Invalid(format!(
                        "key material for {} given for a {} key",
                        material.algorithm.as_str(),
                        algorithm.as_str()
                    )));
                }
                keys.push(self.key_from_material(issuer, &material, state));
            }
        }
        Ok(keys)
    }

    /// The current key of `algorithm`'s chain among the issuer's `keys`, if it has one.
    /// Another chain's key than the default one is read from the store and parsed the first
    /// time it is asked for (see [`IssuerKeys`]).
    ///
    /// # Errors
    /// [`CoreError::Invalid`] when that key does not parse, or has been retired since `keys`
    /// were loaded (by rotations this node has not heard of yet); a store error;
    /// [`CoreError::MasterKeyMismatch`].
    pub async fn signer_for<'k>(
        &self,
        issuer: &Issuer,
        keys: &'k IssuerKeys,
        algorithm: Algorithm,
    ) -> Result<Option<&'k Signer>, CoreError> {
        if keys.default.algorithm() == algorithm {
            return Ok(Some(&keys.default));
        }
        let Some(other) = keys.others.iter().find(|key| key.algorithm == algorithm) else {
            return Ok(None);
        };
        if let Some(signer) = other.parsed.get() {
            return Ok(Some(signer));
        }
        // Requests that get here together each parse it; the first one's copy is kept. A
        // failure is not kept: the next request reads and tries again (a stored key of this
        // node's own that does not parse is a broken database, not a case to make cheap).
        let stored = self
            .store
            .keys()
            .list_active(IssuerScope::of(issuer))
            .await?;
        let key = stored
            .iter()
            .find(|key| key.id == other.id)
            .ok_or_else(|| {
                CoreError::Invalid(format!("the signing key {} has been retired", other.id))
            })?;
        let signer = self.unseal_signer(key)?;
        Ok(Some(other.parsed.get_or_init(|| Box::new(signer))))
    }

    /// The signer of `client`'s ID tokens (OIDC Dynamic Client Registration 1.0 §2
    /// `id_token_signed_response_alg`), and of its logout tokens, which are signed like them
    /// (OpenID Back-Channel Logout 1.0 §2.4), among the issuer's `keys`. A chain the issuer no
    /// longer keeps falls back to the default signer.
    ///
    /// # Errors
    /// As [`Self::signer_for`].
    pub async fn id_token_signer<'k>(
        &self,
        issuer: &Issuer,
        keys: &'k IssuerKeys,
        client: &tessera_model::Client,
    ) -> Result<&'k Signer, CoreError> {
        let asked = match client.id_token_signed_response_alg {
            Some(alg) => self.signer_for(issuer, keys, jws_algorithm(alg)).await?,
            None => None,
        };
        Ok(asked.unwrap_or(keys.signer()))
    }

    /// A stored key's private half, unsealed and parsed.
    fn unseal_signer(&self, key: &SigningKey) -> Result<Signer, CoreError> {
        let pkcs8 = self
            .master_key
            .open(&sealing_purpose(key.id), &key.private_key_sealed)
            .map_err(|_| CoreError::MasterKeyMismatch)?;
        Signer::from_pkcs8(jws_algorithm(key.algorithm), &key.id.to_string(), &pkcs8)
            .map_err(|e| CoreError::Invalid(format!("the stored signing key {}: {e}", key.id)))
    }

    /// Stores a key made by [`Self::new_key`] with its `key.created` event.
    async fn store_key(&self, issuer: &Issuer, key: &SigningKey) -> Result<(), CoreError> {
        Ok(self
            .store
            .keys()
            .create(IssuerScope::of(issuer), key, &key_created(key))
            .await?)
    }

    fn parse_keys(&self, issuer: &Issuer, stored: &[SigningKey]) -> Result<IssuerKeys, CoreError> {
        // The newest current key of each chain signs (rotation makes the next key current
        // before the old one becomes previous).
        let mut current: Vec<&SigningKey> = Vec::new();
        let mut jwks = Vec::with_capacity(stored.len());
        for key in stored {
            let jwk: Value = serde_json::from_str(&key.public_jwk).map_err(|e| {
                CoreError::Invalid(format!(
                    "the stored public key of {} is not JSON: {e}",
                    key.id
                ))
            })?;
            jwks.push(jwk);
            if key.state == KeyState::Current {
                current.retain(|k| k.algorithm != key.algorithm);
                current.push(key);
            }
        }
        let configured = issuer.settings.signing_algorithm();
        // While the settings' chain has no current key, the algorithm that signed before does:
        // any other than the RS256 chain kept beside it, else RS256.
        let default = current
            .iter()
            .position(|k| k.algorithm == configured)
            .or_else(|| {
                current
                    .iter()
                    .rposition(|k| k.algorithm != KeyAlgorithm::Rs256)
            })
            .or_else(|| (!current.is_empty()).then_some(0))
            .ok_or_else(|| CoreError::Invalid("the issuer has no current key".to_owned()))?;
        let default = self.unseal_signer(current.remove(default))?;
        let others = current
            .into_iter()
            .map(|key| LazySigner {
                algorithm: jws_algorithm(key.algorithm),
                id: key.id,
                parsed: OnceLock::new(),
            })
            .collect();
        Ok(IssuerKeys {
            default,
            others,
            jwks: json!({ "keys": jwks }).to_string().into_boxed_str(),
            verifying: OnceLock::new(),
            source: (
                stored.iter().map(|key| (key.id, key.state)).collect(),
                issuer.settings.signing_algorithm(),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use tessera_crypto::MasterKey;
    use tessera_crypto::jws::{Algorithm, verify};
    use tessera_model::{Actor, FixedClock, Issuer, KeyAlgorithm, KeyState, NewEvent, UnixTime};
    use tessera_oauth::{ClientAuth, TokenRequest};
    use tessera_store::{Change, IssuerScope};

    use crate::Core;

    /// Stores the issuer with another signing algorithm, as a settings change would.
    async fn set_signing_algorithm(
        core: &Core,
        issuer: &Issuer,
        algorithm: KeyAlgorithm,
    ) -> Issuer {
        let mut changed = issuer.clone();
        changed.settings = issuer.settings.clone().with_signing_algorithm(algorithm);
        let event = NewEvent::new(
            "issuer.updated",
            issuer.id,
            Actor::System,
            json!({ "fields": ["settings.signing_algorithm"] }),
            core.clock.now(),
        );
        let updated = core.store.issuers().update(&changed, &event).await.unwrap();
        // As `update_issuer` does.
        core.invalidate(Change::Issuer(issuer.id)).await;
        updated
    }

    /// The current key of `algorithm`'s chain, as [`Core::signer_for`] reads it (a test's
    /// keys always parse).
    async fn signer<'k>(
        core: &Core,
        issuer: &Issuer,
        keys: &'k super::IssuerKeys,
        algorithm: Algorithm,
    ) -> Option<&'k tessera_crypto::jws::Signer> {
        core.signer_for(issuer, keys, algorithm).await.unwrap()
    }

    /// The `alg` of every published key, in order.
    fn published(jwks: &str) -> Vec<String> {
        parse(jwks)["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["alg"].as_str().unwrap().to_owned())
            .collect()
    }

    fn parse(jwks: &str) -> serde_json::Value {
        serde_json::from_str(jwks).unwrap()
    }

    fn count(jwks: &str, alg: &str) -> usize {
        published(jwks).iter().filter(|a| *a == alg).count()
    }

    /// RFC 7517 §4 and RFC 7518 §6: every published key names its type, algorithm, use and id,
    /// and carries no private member.
    fn assert_jwks_complete(jwks: &str) {
        let jwks = parse(jwks);
        let keys = jwks["keys"].as_array().unwrap();
        assert!(!keys.is_empty());
        for key in keys {
            let expected_kty = match key["alg"].as_str().unwrap() {
                "ES256" => "EC",
                "RS256" => "RSA",
                "EdDSA" => "OKP",
                other => panic!("unexpected alg {other}"),
            };
            assert_eq!(key["kty"], expected_kty, "{key}");
            assert_eq!(key["use"], "sig", "{key}");
            assert!(
                key["kid"].as_str().is_some_and(|kid| !kid.is_empty()),
                "{key}"
            );
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(key.get(private).is_none(), "{key}");
            }
        }
    }

    #[tokio::test]
    async fn an_issuer_signs_with_the_algorithm_its_settings_name() {
        for algorithm in [KeyAlgorithm::Rs256, KeyAlgorithm::EdDsa] {
            let (core, _, _db) = crate::test_core().await;
            let builtin = core.ensure_builtin_issuers().await.unwrap();
            let system = set_signing_algorithm(&core, &builtin.system, algorithm).await;

            let keys = core.issuer_keys(&system).await.unwrap();
            assert_eq!(keys.signer().algorithm().as_str(), algorithm.as_str());
            assert_jwks_complete(keys.jwks());
            assert_eq!(
                count(keys.jwks(), algorithm.as_str()),
                2,
                "current and next both have the setting's algorithm"
            );
            assert_eq!(
                count(keys.jwks(), "RS256"),
                2,
                "the RS256 chain is kept beside (or is) the issuer's own"
            );
            let stored = core.list_keys(&system).await.unwrap();
            assert!(
                stored
                    .iter()
                    .all(|k| k.algorithm == algorithm || k.algorithm == KeyAlgorithm::Rs256)
            );

            // A real token from the token endpoint, accepted by the Core API.
            let credential = core.create_admin_credential("ci", &[]).await.unwrap();
            let auth = ClientAuth::Basic {
                client_id: credential.client_id.to_string(),
                client_secret: credential.client_secret.expose().to_owned(),
            };
            let response = core
                .token(
                    &system,
                    &auth,
                    TokenRequest::ClientCredentials { scope: None },
                )
                .await
                .unwrap();
            let verified = verify(&response.access_token, keys.verifying_keys().unwrap()).unwrap();
            assert_eq!(verified.header["alg"], algorithm.as_str());
            assert_eq!(verified.header["kid"], keys.signer().kid());
            core.authenticate_core_token(&response.access_token)
                .await
                .expect("the Core API accepts the token");
        }
    }

    #[tokio::test]
    async fn only_the_default_signer_is_parsed_until_another_key_is_needed() {
        let (core, _, _db) = crate::test_core().await;
        let builtin = core.ensure_builtin_issuers().await.unwrap();
        let issuer = set_signing_algorithm(&core, &builtin.system, KeyAlgorithm::Es256).await;
        let keys = core.issuer_keys(&issuer).await.unwrap();
        assert_eq!(keys.signer().algorithm(), Algorithm::Es256);
        assert_eq!(keys.others.len(), 1, "the RS256 chain's current key");
        assert!(keys.others[0].parsed.get().is_none());
        assert!(keys.verifying.get().is_none());
        assert_eq!(
            keys.id_token_algorithms(),
            [Algorithm::Es256, Algorithm::Rs256],
            "RS256 is offered before its key is parsed"
        );

        // Asked for, the RS256 key is the RS256 chain's current key, and what it signs
        // verifies against the published keys, read from the JWKS: all four (current and
        // next of both chains), each as published.
        let stored = core.list_keys(&issuer).await.unwrap();
        let rs256 = signer(&core, &issuer, &keys, Algorithm::Rs256)
            .await
            .expect("an RS256 chain");
        let current = stored
            .iter()
            .find(|k| k.algorithm == KeyAlgorithm::Rs256 && k.state == KeyState::Current)
            .unwrap();
        assert_eq!(rs256.kid(), current.id.to_string());
        assert!(keys.others[0].parsed.get().is_some());
        let token = rs256.sign("JWT", &json!({ "sub": "u" })).unwrap();
        let verified = verify(&token, keys.verifying_keys().unwrap()).unwrap();
        assert_eq!(verified.header["kid"], rs256.kid());
        let published = parse(keys.jwks());
        let published = published["keys"].as_array().unwrap();
        assert_eq!(published.len(), stored.len());
        for (key, jwk) in stored.iter().zip(published) {
            assert_eq!(&parse(&key.public_jwk), jwk);
        }
        let kids: Vec<_> = keys
            .verifying_keys()
            .unwrap()
            .iter()
            .map(|k| k.kid())
            .collect();
        let stored_kids: Vec<_> = stored.iter().map(|k| k.id.to_string()).collect();
        assert_eq!(
            kids,
            stored_kids
                .iter()
                .map(|k| Some(k.as_str()))
                .collect::<Vec<_>>()
        );
        let es256 = keys.signer().sign("JWT", &json!({ "sub": "u" })).unwrap();
        assert!(verify(&es256, keys.verifying_keys().unwrap()).is_ok());
    }

    /// A stored key that does not parse is an error when it is first needed, never skipped:
    /// an RS256 ID token is not signed with another algorithm instead, and verification does
    /// not go on without the key.
    #[tokio::test]
    async fn a_stored_key_that_does_not_parse_is_an_error_when_first_needed() {
        let (core, _, _db) = crate::test_core().await;
        let builtin = core.ensure_builtin_issuers().await.unwrap();
        let issuer = set_signing_algorithm(&core, &builtin.system, KeyAlgorithm::Es256).await;
        core.issuer_keys(&issuer).await.unwrap();
        // A newer current RS256 key whose private half is not a key, and a next ES256 key
        // whose public half is not a point of the curve, stored as rotation stores keys.
        let valid = super::KeyMaterial::generate(KeyAlgorithm::Rs256)
            .await
            .unwrap();
        let unparsable = super::KeyMaterial {
            pkcs8: b"not a PKCS#8 document".to_vec(),
            ..valid
        };
        let off_curve = super::KeyMaterial {
            algorithm: KeyAlgorithm::Es256,
            pkcs8: Vec::new(),
            public_jwk: json!({
                "kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "alg": "ES256", "use": "sig",
            }),
        };
        let rs256 = core.key_from_material(&issuer, &unparsable, KeyState::Current);
        let es256 = core.key_from_material(&issuer, &off_curve, KeyState::Next);
        core.store_key(&issuer, &rs256).await.unwrap();
        core.store_key(&issuer, &es256).await.unwrap();
        core.invalidate(Change::Keys(issuer.id)).await;

        let keys = core.issuer_keys(&issuer).await.unwrap();
        assert!(keys.signer().sign("JWT", &json!({ "sub": "u" })).is_ok());
        for _ in 0..2 {
            let refused = core
                .signer_for(&issuer, &keys, Algorithm::Rs256)
                .await
                .unwrap_err()
                .to_string();
            assert!(
                refused.contains(&format!("the stored signing key {}", rs256.id)),
                "{refused}"
            );
            let verifying = keys.verifying_keys().unwrap_err().to_string();
            assert!(
                verifying.contains(&format!("the published key \"{}\"", es256.id)),
                "{verifying}"
            );
        }
    }

    #[tokio::test]
    async fn a_changed_algorithm_signs_only_with_a_key_published_before() {
        let (core, clock, _db) = crate::test_core().await;
        let issuer = core.ensure_builtin_issuers().await.unwrap().default;
        let es256 = core.issuer_keys(&issuer).await.unwrap();
        assert_eq!(es256.signer().algorithm().as_str(), "ES256");
        let es256_token = es256.signer().sign("JWT", &json!({"n": 1})).unwrap();
        let rs256_kid = signer(&core, &issuer, &es256, Algorithm::Rs256)
            .await
            .unwrap()
            .kid()
            .to_owned();

        // RS256: its chain exists, so its current key, published all along, signs at once.
        let issuer = set_signing_algorithm(&core, &issuer, KeyAlgorithm::Rs256).await;
        let rs256 = core.issuer_keys(&issuer).await.unwrap();
        assert_eq!(rs256.signer().algorithm().as_str(), "RS256");
        assert_eq!(rs256.signer().kid(), rs256_kid);
        assert_eq!(rs256.jwks(), es256.jwks(), "no key was made");

        // EdDSA: no chain yet; its next key is made and published, and signs from the next
        // rotation. Meanwhile another chain's current key signs.
        let issuer = set_signing_algorithm(&core, &issuer, KeyAlgorithm::EdDsa).await;
        let waiting = core.issuer_keys(&issuer).await.unwrap();
        assert_ne!(waiting.signer().algorithm(), Algorithm::EdDsa);
        assert!(
            signer(&core, &issuer, &waiting, Algorithm::EdDsa)
                .await
                .is_none()
        );
        assert_eq!(count(waiting.jwks(), "EdDSA"), 1, "the next EdDSA key");
        assert_jwks_complete(waiting.jwks());
        let stored = core.list_keys(&issuer).await.unwrap();
        let next = stored
            .iter()
            .find(|k| k.algorithm == KeyAlgorithm::EdDsa)
            .unwrap();
        assert_eq!(next.state, KeyState::Next);

        core.rotate_keys(&issuer, Actor::System).await.unwrap();
        let rotated = core.issuer_keys(&issuer).await.unwrap();
        assert_eq!(rotated.signer().algorithm().as_str(), "EdDSA");
        assert_eq!(rotated.signer().kid(), next.id.to_string());
        assert_jwks_complete(rotated.jwks());
        assert!(
            signer(&core, &issuer, &rotated, Algorithm::Es256)
                .await
                .is_none(),
            "the ES256 chain is no longer kept: its current key became previous"
        );
        assert_eq!(count(rotated.jwks(), "ES256"), 1, "only the previous one");
        verify(&es256_token, rotated.verifying_keys().unwrap())
            .expect("tokens of the ES256 keys still verify while they may be alive");
        let eddsa_token = rotated.signer().sign("JWT", &json!({"n": 2})).unwrap();
        assert_eq!(
            verify(&eddsa_token, rotated.verifying_keys().unwrap())
                .unwrap()
                .header["alg"],
            "EdDSA"
        );

        // Once its tokens have expired, the wound-down chain is gone.
        clock.advance(issuer.settings.access_token_lifetime());
        core.rotate_keys(&issuer, Actor::System).await.unwrap();
        let later = core.issuer_keys(&issuer).await.unwrap();
        assert_eq!(count(later.jwks(), "ES256"), 0);
        assert!(verify(&es256_token, later.verifying_keys().unwrap()).is_err());
        assert_eq!(count(later.jwks(), "EdDSA"), 3, "previous, current, next");
        assert_eq!(count(later.jwks(), "RS256"), 3, "previous, current, next");
    }

    #[tokio::test]
    async fn a_default_issuer_keeps_an_es256_and_an_rs256_chain_rotated_together() {
        let (core, clock, _db) = crate::test_core().await;
        let issuer = core.ensure_builtin_issuers().await.unwrap().default;
        let first = core.issuer_keys(&issuer).await.unwrap();
        assert_jwks_complete(first.jwks());
        assert_eq!(count(first.jwks(), "ES256"), 2, "current and next");
        assert_eq!(count(first.jwks(), "RS256"), 2, "current and next");
        assert_eq!(first.signer().algorithm(), Algorithm::Es256);
        assert_eq!(
            signer(&core, &issuer, &first, Algorithm::Es256)
                .await
                .unwrap()
                .kid(),
            first.signer().kid()
        );
        assert!(
            signer(&core, &issuer, &first, Algorithm::EdDsa)
                .await
                .is_none()
        );
        assert_eq!(
            first.id_token_algorithms(),
            [Algorithm::Es256, Algorithm::Rs256]
        );
        let rs256_token = signer(&core, &issuer, &first, Algorithm::Rs256)
            .await
            .unwrap()
            .sign("JWT", &json!({"n": 1}))
            .unwrap();
        let stored = core.list_keys(&issuer).await.unwrap();
        let next_of = |alg: KeyAlgorithm| {
            stored
                .iter()
                .find(|k| k.algorithm == alg && k.state == KeyState::Next)
                .unwrap()
                .id
                .to_string()
        };
        let (next_es256, next_rs256) = (next_of(KeyAlgorithm::Es256), next_of(KeyAlgorithm::Rs256));

        core.rotate_keys(&issuer, Actor::System).await.unwrap();
        let second = core.issuer_keys(&issuer).await.unwrap();
        assert_eq!(second.signer().kid(), next_es256);
        assert_eq!(
            signer(&core, &issuer, &second, Algorithm::Rs256)
                .await
                .unwrap()
                .kid(),
            next_rs256,
            "the RS256 chain rotated too"
        );
        assert_eq!(count(second.jwks(), "ES256"), 3);
        assert_eq!(count(second.jwks(), "RS256"), 3);

        // A second rotation right away retires nothing, in either chain.
        core.rotate_keys(&issuer, Actor::System).await.unwrap();
        let kept = core.issuer_keys(&issuer).await.unwrap();
        assert_eq!(count(kept.jwks(), "ES256"), 4);
        assert_eq!(count(kept.jwks(), "RS256"), 4);
        verify(&rs256_token, kept.verifying_keys().unwrap()).expect("a previous RS256 key stays");

        clock.advance(issuer.settings.id_token_lifetime());
        core.rotate_keys(&issuer, Actor::System).await.unwrap();
        let third = core.issuer_keys(&issuer).await.unwrap();
        assert!(verify(&rs256_token, third.verifying_keys().unwrap()).is_err());
        for alg in [KeyAlgorithm::Es256, KeyAlgorithm::Rs256] {
            let states: Vec<_> = core
                .list_keys(&issuer)
                .await
                .unwrap()
                .iter()
                .filter(|k| k.algorithm == alg)
                .map(|k| k.state)
                .collect();
            assert_eq!(
                states,
                [KeyState::Previous, KeyState::Current, KeyState::Next],
                "{alg:?}"
            );
        }
    }

    #[tokio::test]
    async fn expired_cached_keys_are_kept_while_the_store_says_the_same_and_parsed_again_after_a_change()
     {
        let (core, clock, db) = crate::test_core().await;
        let issuer = core.ensure_builtin_issuers().await.unwrap().default;
        let first = core.issuer_keys(&issuer).await.unwrap();
        assert!(Arc::ptr_eq(
            &first,
            &core.issuer_keys(&issuer).await.unwrap()
        ));

        clock.advance(crate::CacheLimits::default().ttl_seconds);
        let checked = core.issuer_keys(&issuer).await.unwrap();
        assert!(Arc::ptr_eq(&first, &checked), "unchanged: not parsed again");

        // Another node rotates, and this node's notice is lost: the time to live catches it.
        let stored = core.list_keys(&issuer).await.unwrap();
        let key = stored.iter().find(|k| k.state == KeyState::Next).unwrap();
        let event = NewEvent::new(
            "key.state_changed",
            key.id,
            Actor::System,
            json!({}),
            core.clock.now(),
        );
        db.store
            .keys()
            .set_state(IssuerScope::of(&issuer), key.id, KeyState::Retired, &event)
            .await
            .unwrap();
        assert!(
            Arc::ptr_eq(&first, &core.issuer_keys(&issuer).await.unwrap()),
            "still trusted"
        );
        clock.advance(crate::CacheLimits::default().ttl_seconds);
        let changed = core.issuer_keys(&issuer).await.unwrap();
        assert!(!Arc::ptr_eq(&first, &changed), "changed: parsed again");
        assert_eq!(
            published(changed.jwks()).len() + 1,
            published(first.jwks()).len()
        );
    }

    #[tokio::test]
    async fn keys_are_made_on_first_use_and_rotation_publishes_the_next_key_before_it_signs() {
        let (core, clock, db) = crate::test_core().await;
        let issuer = core.ensure_builtin_issuers().await.unwrap().default;
        let lifetime = issuer.settings.access_token_lifetime();

        let first = core.issuer_keys(&issuer).await.unwrap();
        assert_eq!(count(first.jwks(), "ES256"), 2, "current and next");
        let old_token = first
            .signer()
            .sign("JWT", &serde_json::json!({"n": 1}))
            .unwrap();
        let stored = core.list_keys(&issuer).await.unwrap();
        let next_kid = stored
            .iter()
            .find(|k| k.state == KeyState::Next && k.algorithm == KeyAlgorithm::Es256)
            .unwrap()
            .id
            .to_string();
        assert!(
            parse(first.jwks())["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kid"] == next_kid.as_str())
        );

        core.rotate_keys(&issuer, Actor::System).await.unwrap();
        let second = core.issuer_keys(&issuer).await.unwrap();
        assert_eq!(
            second.signer().kid(),
            next_kid,
            "the published next key now signs"
        );
        assert_eq!(count(second.jwks(), "ES256"), 3, "previous, current, next");
        verify(&old_token, second.verifying_keys().unwrap())
            .expect("tokens of the previous key still verify");

        // A second rotation right away keeps the first key: its tokens may still be alive.
        core.rotate_keys(&issuer, Actor::System).await.unwrap();
        let kept = core.issuer_keys(&issuer).await.unwrap();
        verify(&old_token, kept.verifying_keys().unwrap())
            .expect("a previous key stays while its tokens may be alive");
        assert_eq!(count(kept.jwks(), "ES256"), 4);

        // Once its tokens have expired, the next rotation retires it.
        clock.advance(lifetime);
        core.rotate_keys(&issuer, Actor::System).await.unwrap();
        let third = core.issuer_keys(&issuer).await.unwrap();
        assert!(
            verify(&old_token, third.verifying_keys().unwrap()).is_err(),
            "retired once its tokens expired"
        );

        // A new node (empty cache) loads the same keys from storage.
        let other = Core::new(
            db.store.clone(),
            Arc::new(FixedClock::at(UnixTime(0))),
            core.master_key.clone(),
            crate::TEST_URL,
        );
        assert_eq!(
            other.issuer_keys(&issuer).await.unwrap().jwks(),
            third.jwks()
        );
        let states: Vec<_> = db
            .store
            .keys()
            .list_active(IssuerScope::of(&issuer))
            .await
            .unwrap()
            .iter()
            .filter(|k| k.algorithm == KeyAlgorithm::Es256)
            .map(|k| k.state)
            .collect();
        assert_eq!(
            states,
            [KeyState::Previous, KeyState::Current, KeyState::Next]
        );
    }

    #[tokio::test]
    async fn a_previous_key_stays_while_a_clients_longer_lived_tokens_may_be_alive() {
        let (core, clock, _db) = crate::test_core().await;
        let issuer = core.ensure_builtin_issuers().await.unwrap().default;
        let issuer_lifetime = issuer.settings.access_token_lifetime();
        let client = crate::clients::NewClient {
            grant_types: vec!["client_credentials".to_owned()],
            access_token_lifetime: Some(2 * issuer_lifetime),
            ..crate::clients::NewClient::new("Long-lived", tessera_model::ClientType::Confidential)
        };
        core.create_client(&issuer, client, Actor::System)
            .await
            .unwrap();
        let token = core
            .issuer_keys(&issuer)
            .await
            .unwrap()
            .signer()
            .sign("JWT", &json!({"n": 1}))
            .unwrap();
        core.rotate_keys(&issuer, Actor::System).await.unwrap();
        clock.advance(issuer_lifetime);
        core.rotate_keys(&issuer, Actor::System).await.unwrap();
        verify(
            &token,
            core.issuer_keys(&issuer)
                .await
                .unwrap()
                .verifying_keys()
                .unwrap(),
        )
        .expect("kept past the issuer's lifetime: the client's tokens live twice as long");
        clock.advance(issuer_lifetime);
        core.rotate_keys(&issuer, Actor::System).await.unwrap();
        assert!(
            verify(
                &token,
                core.issuer_keys(&issuer)
                    .await
                    .unwrap()
                    .verifying_keys()
                    .unwrap()
            )
            .is_err(),
            "retired once the longest-lived token expired"
        );
    }

    #[tokio::test]
    async fn private_keys_are_sealed_and_a_wrong_master_key_cannot_use_them() {
        let (core, clock, db) = crate::test_core().await;
        let issuer = core.ensure_builtin_issuers().await.unwrap().default;
        core.issuer_keys(&issuer).await.unwrap();
        let stored = db
            .store
            .keys()
            .list_active(IssuerScope::of(&issuer))
            .await
            .unwrap();
        assert!(stored.iter().all(|k| !k.public_jwk.contains("\"d\"")));
        let intruder = Core::new(
            db.store.clone(),
            clock,
            MasterKey::generate(),
            crate::TEST_URL,
        );
        assert!(matches!(
            intruder.issuer_keys(&issuer).await,
            Err(crate::CoreError::MasterKeyMismatch)
        ));
    }
}
