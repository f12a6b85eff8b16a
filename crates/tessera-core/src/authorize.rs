//! The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2) and the interaction that
//! carries a request through the hosted pages to its code.
//!
//! `/authorize` runs its checks in one visible order ([`Core::authorize`]):
//!
//! 1. who asks and where the answer goes: the client exists at this issuer, the redirect URI
//!    is one it registered, byte for byte (RFC 9700 §4.1.3). Until both hold, every failure is
//!    an error *page*: a redirect to an unvalidated URI is an open redirector (RFC 6749
//!    §4.1.2.1, DESIGN.md §6);
//! 2. everything else of the request (response type, mode, scope, PKCE, prompt): failures are
//!    redirected to the client with `state` and `iss` (RFC 9207);
//! 3. who the user is: an active session cookie counts unless `prompt=login` or `max_age`
//!    says otherwise; `prompt=none` fails with `login_required` / `consent_required` rather
//!    than showing a page (OIDC Core §3.1.2.6);
//! 4. the request is stored as an [`Interaction`] bound to the browser (a cookie secret), and
//!    the browser goes to the sign-in or consent page, or straight back with a code.
//!
//! The hosted pages reach the request only through the interaction methods here (DESIGN.md §3
//! invariant 4): [`Core::interaction`] to show it, [`Core::submit_login`] and
//! [`Core::submit_consent`] to advance it. Finishing consumes the interaction in one
//! conditional statement, so a request yields at most one code.

use serde::{Deserialize, Serialize};
use serde_json::json;
use tessera_crypto::{SecretHash, SecretToken, constant_time_eq};
use tessera_model::{
    Actor, Client, ClientId, ClientType, FamilyId, Grant, GrantId, Interaction, InteractionId,
    Issuer, NewEvent, Session, SessionId, Ticket, TicketId, TicketKind, UnixTime, User, UserId,
};
use tessera_oauth::{
    AuthorizationDelivery, AuthorizationRequest, Form, OAuthError, Scope, deliver, error_params,
    error_response_mode, parse_authorization_request, parse_client_target, success_params,
};
use tessera_store::{IssuerScope, StoreError};

use crate::{Core, CoreError, csrf};

/// How long a user has to finish signing in.
pub const INTERACTION_LIFETIME: i64 = 30 * 60;
/// How long an authorization code may be redeemed (RFC 6749 §4.1.2: "maximum … of 10 minutes
/// is RECOMMENDED"; RFC 9700 §4.2.1 asks for short-lived codes).
pub const CODE_LIFETIME: i64 = 60;
/// How long a browser session lasts without a new sign-in.
pub const SESSION_LIFETIME: i64 = 14 * 24 * 3600;

/// Where the browser goes next.
#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// Show an error page and stop: the client or redirect URI cannot be trusted.
    ErrorPage(OAuthError),
    /// Answer the client (a code or an error) at its validated redirect URI.
    Respond(AuthorizationDelivery),
    /// Continue in the hosted pages.
    Interact {
        /// The interaction the pages work on.
        interaction: InteractionId,
        /// The page to show first.
        stage: Stage,
        /// A browser secret to set as a cookie, when the browser had none.
        new_browser_secret: Option<SecretToken>,
    },
}

/// Which hosted page an interaction needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The user must sign in.
    Login,
    /// The user must consent to the client's scopes.
    Consent,
}

/// What the hosted pages show for an interaction.
#[derive(Debug, Clone)]
pub struct InteractionView {
    /// The interaction.
    pub id: InteractionId,
    /// The page it needs.
    pub stage: Stage,
    /// The client's display name.
    pub client_name: String,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// The `login_hint`, to prefill the username.
    pub login_hint: Option<String>,
    /// The request's `ui_locales`, most preferred first: the first input of
    /// [`crate::page_language`].
    pub ui_locales: Vec<String>,
    /// The signed-in user's own language (their profile's `locale`), once someone has signed
    /// in: the second input of [`crate::page_language`].
    pub user_locale: Option<String>,
    /// The CSRF token the page's forms must send back.
    pub csrf: String,
}

/// Why a hosted page cannot go on with an interaction. None of these redirect.
#[derive(Debug, thiserror::Error)]
pub enum InteractionError {
    /// Unknown, finished or expired.
    #[error(
        "This sign-in request has expired or was already used. Return to the application and start again."
    )]
    Gone,
    /// Another browser's interaction, or a form without the right CSRF token.
    #[error(
        "This sign-in request belongs to another browser window. Return to the application and start again."
    )]
    Forbidden,
    /// The consent form came before the user signed in.
    #[error("Sign in before answering the consent page.")]
    NotSignedIn,
    /// Storage failed.
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl From<StoreError> for InteractionError {
    fn from(error: StoreError) -> Self {
        Self::Core(error.into())
    }
}

/// What a sign-in form submission led to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Not signed in: show the form again, saying why.
    Retry {
        /// The page to show again.
        view: InteractionView,
        /// Why, and maybe a mail to send.
        refused: Refused,
    },
    /// Signed in: set the session cookie, then continue.
    SignedIn {
        /// The new session's cookie secret.
        session_secret: SecretToken,
        /// What comes next.
        next: Next,
    },
}

/// Why the sign-in form is shown again. The pages word each one; none of them says whether
/// the account exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// A field was left empty.
    Incomplete,
    /// A field is longer than any account's can be: the identifier than an email address or
    /// username (320 characters), the password than any password policy allows
    /// ([`tessera_model::PASSWORD_MAX_LENGTH`]). Refused before anything is
    /// looked up or hashed, and the same for every account.
    TooLong {
        /// `username` or `password`.
        field: &'static str,
        /// The most characters it may have.
        max: usize,
    },
    /// No account with that identifier and password: an unknown identifier, a wrong password,
    /// an account without a password and a blocked account all answer this.
    Credentials,
    /// Too many failed tries for this identifier or from this network address: the password
    /// was not checked. Try again in `wait_seconds`.
    TooManyAttempts {
        /// Seconds until the next try is allowed (at least 1).
        wait_seconds: i64,
    },
    /// The password is right, but the issuer requires a verified email address and this
    /// account's is not: a new verification link is to be mailed ([`Refused::mail`]).
    Unverified,
}

/// A refused sign-in: why, and a mail to send when the refusal calls for one.
#[derive(Debug)]
pub struct Refused {
    /// Why.
    pub refusal: LoginRefusal,
    /// The verification mail of [`LoginRefusal::Unverified`].
    pub mail: Option<crate::signup::LinkMail>,
}

impl From<LoginRefusal> for Refused {
    fn from(refusal: LoginRefusal) -> Self {
        Self {
            refusal,
            mail: None,
        }
    }
}

/// What a sign-in submission carries: the form's fields and where it came from.
#[derive(Debug, Clone, Copy)]
pub struct SignInAttempt<'a> {
    /// The form's CSRF token.
    pub csrf: &'a str,
    /// The email address or username typed.
    pub username: &'a str,
    /// The password typed.
    pub password: &'a str,
    /// The network address of the browser, counted by the brute-force protection.
    pub address: Option<std::net::IpAddr>,
}

/// What comes after a step of the interaction.
#[derive(Debug)]
pub enum Next {
    /// The consent page.
    Consent(InteractionView),
    /// The answer to the client.
    Respond(AuthorizationDelivery),
}

/// Ids are stored in their public text form, which is how the model spells them.
mod as_text {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<T: Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub(super) fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }

    /// The same for an optional id.
    pub(super) mod option {
        use std::fmt::Display;
        use std::str::FromStr;

        use serde::{Deserialize, Deserializer, Serializer};

        pub(in crate::authorize) fn serialize<T: Display, S: Serializer>(
            value: &Option<T>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(value) => s.collect_str(value),
                None => s.serialize_none(),
            }
        }

        pub(in crate::authorize) fn deserialize<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
        where
            T: FromStr,
            T::Err: Display,
            D: Deserializer<'de>,
        {
            Option::<String>::deserialize(d)?
                .map(|text| text.parse().map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

/// The request as the interaction stores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    /// The validated redirect URI the answer goes to.
    redirect_uri: String,
    /// Whether the request named it (then the token request must repeat it, RFC 6749 §4.1.3).
    redirect_uri_given: bool,
    request: AuthorizationRequest,
    /// The session that identified (or just signed in) the user.
    #[serde(with = "as_text::option")]
    session_id: Option<SessionId>,
}

impl Pending {
    /// The request's `ui_locales`, most preferred first.
    pub(crate) fn ui_locales(&self) -> &[String] {
        &self.request.ui_locales
    }
}

/// What an authorization code redeems, stored in its ticket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CodeGrant {
    #[serde(with = "as_text")]
    pub(crate) client_id: ClientId,
    pub(crate) redirect_uri: String,
    pub(crate) redirect_uri_given: bool,
    pub(crate) scope: Scope,
    pub(crate) nonce: Option<String>,
    pub(crate) code_challenge: Option<tessera_oauth::CodeChallenge>,
    #[serde(with = "as_text")]
    pub(crate) user_id: UserId,
    #[serde(with = "as_text::option")]
    pub(crate) session_id: Option<SessionId>,
    /// Unix seconds.
    pub(crate) auth_time: i64,
    pub(crate) amr: Vec<String>,
    /// The family everything issued for this code joins, chosen now so that a replayed code
    /// can revoke it (RFC 6749 §4.1.2).
    #[serde(with = "as_text")]
    pub(crate) family_id: FamilyId,
}

fn authorization_error(error: OAuthError) -> AuthorizeOutcome {
    AuthorizeOutcome::ErrorPage(error)
}

impl Core {
    /// Handles an authorization request: `form` is the query (GET) or body (POST) parsed,
    /// `browser` the browser cookie's secret and `session` the session cookie's, if sent.
    pub async fn authorize(
        &self,
        issuer: &Issuer,
        form: &Form,
        browser: Option<&str>,
        session: Option<&str>,
    ) -> Result<AuthorizeOutcome, CoreError> {
        // 1. Who asks, and where the answer goes. Never redirect before both are proven.
        let target = match parse_client_target(form) {
            Ok(target) => target,
            Err(error) => return Ok(authorization_error(error)),
        };
        let Some(client) = self.find_client(issuer, &target.client_id).await? else {
            return Ok(authorization_error(OAuthError::invalid_request(
                "The client_id is not a client of this issuer.",
            )));
        };
        let (redirect_uri, redirect_uri_given) = match &target.redirect_uri {
            // RFC 6749 §3.1.2.3, RFC 9700 §4.1.3: exact string comparison.
            Some(given) if client.redirect_uris.iter().any(|r| r == given) => (given.clone(), true),
            Some(_) => {
                return Ok(authorization_error(OAuthError::invalid_request(
                    "The redirect_uri is not registered for this client.",
                )));
            }
            // RFC 6749 §3.1.2.3: without the parameter, only a single registered URI is safe.
            None if client.redirect_uris.len() == 1 => (client.redirect_uris[0].clone(), false),
            None => {
                return Ok(authorization_error(OAuthError::invalid_request(
                    "The redirect_uri parameter is required.",
                )));
            }
        };
        let issuer_url = self.issuer_url(issuer);
        // From here on, errors go back to the client.
        let state = form.get("state");
        let mode = error_response_mode(form);
        let refuse = |error: OAuthError| {
            AuthorizeOutcome::Respond(deliver(
                &redirect_uri,
                mode,
                &error_params(&error, state, &issuer_url),
            ))
        };

        // 2. The rest of the request.
        if !client.grant_types.iter().any(|g| g == "authorization_code") {
            return Ok(refuse(OAuthError::unauthorized_client(
                "This client may not use the authorization code flow.",
            )));
        }
        let request = match parse_authorization_request(form) {
            Ok(request) => request,
            Err(error) => return Ok(refuse(error)),
        };
        // RFC 9700 §2.1.1: PKCE is required of public clients (and offered to all).
        if client.client_type == ClientType::Public && request.code_challenge.is_none() {
            return Ok(refuse(OAuthError::invalid_request(
                "Public clients must use PKCE (code_challenge with S256).",
            )));
        }
        if !scope_allowed(&client, &request.scope) {
            return Ok(refuse(OAuthError::invalid_scope(
                "The scope includes values this client may not request.",
            )));
        }

        // 3. Who the user is.
        let now = self.clock.now();
        let scope = IssuerScope::of(issuer);
        let active = match session {
            Some(secret) => self.active_session(issuer, secret).await?,
            None => None,
        };
        // OIDC Core §3.1.2.1: past `max_age` seconds the user signs in again, and
        // "max_age=0 is equivalent to prompt=login" (even within the second of the sign-in).
        let fresh_enough = |session: &Session| {
            request.max_age.is_none_or(|max| {
                max > 0 && now.0 - session.auth_time.0 <= i64::try_from(max).unwrap_or(i64::MAX)
            })
        };
        let known = active
            .filter(|s| !request.prompt.login && !request.prompt.select_account && fresh_enough(s));
        let user = match &known {
            Some(session) => self.usable_user(issuer, session.user_id).await?,
            None => None,
        };
        let needs_consent = match &user {
            Some(user) => {
                self.needs_consent(issuer, &client, user.id, &request)
                    .await?
            }
            None => true,
        };
        if request.prompt.none {
            // OIDC Core §3.1.2.6: never show a page.
            if user.is_none() {
                return Ok(refuse(OAuthError::login_required(
                    "The user is not signed in.",
                )));
            }
            if needs_consent {
                return Ok(refuse(OAuthError::consent_required(
                    "The user has not consented to this client's scopes.",
                )));
            }
        }

        let pending = Pending {
            redirect_uri: redirect_uri.clone(),
            redirect_uri_given,
            request,
            session_id: known.as_ref().map(|s| s.id),
        };
        // A signed-in user with nothing to consent to: the answer goes back at once.
        if let (Some(user), Some(session), false) = (&user, &known, needs_consent) {
            let delivery = self
                .issue_code(
                    issuer,
                    &client,
                    user,
                    &pending,
                    session.auth_time,
                    &session.amr,
                    None,
                )
                .await?;
            return Ok(AuthorizeOutcome::Respond(delivery));
        }

        // 4. Store the request and continue in the hosted pages.
        let (browser_secret, new_browser_secret) = crate::csrf::browser_secret(browser);
        let interaction = Interaction {
            id: InteractionId::new(),
            issuer_id: issuer.id,
            client_id: client.id,
            browser_hash: *SecretHash::of(&browser_secret).as_bytes(),
            request: serde_json::to_value(&pending)
                .map_err(|e| CoreError::Invalid(e.to_string()))?,
            user_id: user.as_ref().map(|u| u.id),
            auth_time: known.as_ref().map(|s| s.auth_time),
            amr: known.as_ref().map(|s| s.amr.clone()).unwrap_or_default(),
            created_at: now,
            expires_at: now.plus_seconds(INTERACTION_LIFETIME),
            revision: 1,
        };
        self.store
            .interactions()
            .create(scope, &interaction)
            .await?;
        Ok(AuthorizeOutcome::Interact {
            interaction: interaction.id,
            stage: if user.is_some() {
                Stage::Consent
            } else {
                Stage::Login
            },
            new_browser_secret,
        })
    }

    /// The interaction as the hosted pages show it, for the browser holding `browser`.
    pub async fn interaction(
        &self,
        issuer: &Issuer,
        id: &str,
        browser: Option<&str>,
    ) -> Result<InteractionView, InteractionError> {
        let (interaction, pending, client) = self.load_interaction(issuer, id, browser).await?;
        let (stage, user_locale) = match interaction.user_id {
            Some(user) => {
                let user = self
                    .store
                    .users()
                    .find(IssuerScope::of(issuer), user)
                    .await?;
                (Stage::Consent, user.and_then(|u| u.locale))
            }
            None => (Stage::Login, None),
        };
        let mut view = view(
            &interaction,
            &pending,
            &client,
            stage,
            browser.unwrap_or(""),
        );
        view.user_locale = user_locale;
        Ok(view)
    }

    /// Checks a sign-in form: on success the interaction records the user, a session starts,
    /// and the interaction moves on to consent or to the client. Every try goes through the
    /// issuer's brute-force protection first ([`crate::lockout`]).
    pub async fn submit_login(
        &self,
        issuer: &Issuer,
        id: &str,
        browser: Option<&str>,
        attempt: SignInAttempt<'_>,
    ) -> Result<LoginOutcome, InteractionError> {
        let (interaction, pending, client) = self.load_interaction(issuer, id, browser).await?;
        let browser = browser.unwrap_or("");
        check_csrf(browser, interaction.id, attempt.csrf)?;
        let (user, session, session_secret) =
            match self.sign_in_with_password(issuer, attempt).await? {
                Ok(signed_in) => signed_in,
                Err(refused) => {
                    return Ok(LoginOutcome::Retry {
                        view: view(&interaction, &pending, &client, Stage::Login, browser),
                        refused,
                    });
                }
            };
        let next = self
            .continue_signed_in(
                issuer,
                (interaction, pending, client),
                browser,
                (user, session),
            )
            .await?;
        Ok(LoginOutcome::SignedIn {
            session_secret,
            next,
        })
    }

    /// Moves an interaction on once its user has signed in (on the sign-in page, or by
    /// signing up): the interaction records the user and the session, then goes to consent
    /// or back to the client, which is what comes next.
    pub(crate) async fn continue_signed_in(
        &self,
        issuer: &Issuer,
        (interaction, pending, client): (Interaction, Pending, Client),
        browser: &str,
        (user, session): (User, Session),
    ) -> Result<Next, InteractionError> {
        let now = self.clock.now();
        let mut signed_in = interaction.clone();
        signed_in.user_id = Some(user.id);
        signed_in.auth_time = Some(now);
        signed_in.amr = session.amr.clone();
        let mut pending = pending;
        pending.session_id = Some(session.id);
        signed_in.request =
            serde_json::to_value(&pending).map_err(|e| CoreError::Invalid(e.to_string()))?;
        let scope = IssuerScope::of(issuer);
        let signed_in = match self.store.interactions().update(scope, &signed_in).await {
            Ok(updated) => updated,
            Err(StoreError::NotFound | StoreError::Conflict) => return Err(InteractionError::Gone),
            Err(e) => return Err(e.into()),
        };
        let next = if self
            .needs_consent(issuer, &client, user.id, &pending.request)
            .await?
        {
            let mut consent = view(&signed_in, &pending, &client, Stage::Consent, browser);
            consent.user_locale.clone_from(&user.locale);
            Next::Consent(consent)
        } else {
            match self
                .finish_interaction(issuer, &client, signed_in.id, &user, None)
                .await?
            {
                Some(delivery) => Next::Respond(delivery),
                None => return Err(InteractionError::Gone),
            }
        };
        Ok(next)
    }

    /// Records the user's answer on the consent page and answers the client.
    pub async fn submit_consent(
        &self,
        issuer: &Issuer,
        id: &str,
        browser: Option<&str>,
        csrf: &str,
        allow: bool,
    ) -> Result<AuthorizationDelivery, InteractionError> {
        let (interaction, pending, client) = self.load_interaction(issuer, id, browser).await?;
        check_csrf(browser.unwrap_or(""), interaction.id, csrf)?;
        let Some(user_id) = interaction.user_id else {
            return Err(InteractionError::NotSignedIn);
        };
        let Some(user) = self.usable_user(issuer, user_id).await? else {
            return Err(InteractionError::Gone);
        };
        if !allow {
            let scope = IssuerScope::of(issuer);
            match self
                .store
                .interactions()
                .consume(scope, interaction.id, self.clock.now())
                .await
            {
                Ok(_) => {}
                Err(StoreError::NotFound) => return Err(InteractionError::Gone),
                Err(e) => return Err(e.into()),
            }
            let error = OAuthError::access_denied("The user denied the request.");
            return Ok(deliver(
                &pending.redirect_uri,
                pending.request.response_mode,
                &error_params(
                    &error,
                    pending.request.state.as_deref(),
                    &self.issuer_url(issuer),
                ),
            ));
        }
        self.finish_interaction(
            issuer,
            &client,
            interaction.id,
            &user,
            Some(&pending.request.scope),
        )
        .await?
        .ok_or(InteractionError::Gone)
    }

    /// Consumes the interaction and issues its code. `None` when another request finished
    /// the interaction first.
    async fn finish_interaction(
        &self,
        issuer: &Issuer,
        client: &Client,
        id: InteractionId,
        user: &User,
        consented: Option<&Scope>,
    ) -> Result<Option<AuthorizationDelivery>, CoreError> {
        let now = self.clock.now();
        let interaction = match self
            .store
            .interactions()
            .consume(IssuerScope::of(issuer), id, now)
            .await
        {
            Ok(interaction) => interaction,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let pending: Pending = serde_json::from_value(interaction.request)
            .map_err(|e| CoreError::Invalid(format!("a stored interaction is unreadable: {e}")))?;
        let auth_time = interaction.auth_time.unwrap_or(now);
        self.issue_code(
            issuer,
            client,
            user,
            &pending,
            auth_time,
            &interaction.amr,
            consented,
        )
        .await
        .map(Some)
    }

    /// Remembers consent if it was just given, records the client on the session, and issues
    /// the code for an authorization request whose user is known.
    #[allow(clippy::too_many_arguments)] // each is one fact about the request being answered
    async fn issue_code(
        &self,
        issuer: &Issuer,
        client: &Client,
        user: &User,
        pending: &Pending,
        auth_time: UnixTime,
        amr: &[String],
        consented: Option<&Scope>,
    ) -> Result<AuthorizationDelivery, CoreError> {
        let scope = IssuerScope::of(issuer);
        let now = self.clock.now();
        if let Some(consented) = consented {
            self.remember_consent(issuer, client, user.id, consented)
                .await?;
        }
        if let Some(session) = pending.session_id {
            self.store
                .sessions()
                .add_client(scope, session, client.id)
                .await?;
        }
        let code = SecretToken::generate();
        let grant = CodeGrant {
            client_id: client.id,
            redirect_uri: pending.redirect_uri.clone(),
            redirect_uri_given: pending.redirect_uri_given,
            scope: pending.request.scope.clone(),
            nonce: pending.request.nonce.clone(),
            code_challenge: pending.request.code_challenge.clone(),
            user_id: user.id,
            session_id: pending.session_id,
            auth_time: auth_time.0,
            amr: amr.to_vec(),
            family_id: FamilyId::new(),
        };
        let ticket = Ticket {
            id: TicketId::new(),
            issuer_id: issuer.id,
            kind: TicketKind::AuthorizationCode,
            secret_hash: *code.hash().as_bytes(),
            subject: user.id.to_string(),
            payload: serde_json::to_value(&grant).map_err(|e| CoreError::Invalid(e.to_string()))?,
            expires_at: now.plus_seconds(CODE_LIFETIME),
            consumed_at: None,
            created_at: now,
        };
        self.store.tickets().create(scope, &ticket).await?;
        Ok(deliver(
            &pending.redirect_uri,
            pending.request.response_mode,
            &success_params(
                code.expose(),
                pending.request.state.as_deref(),
                &self.issuer_url(issuer),
            ),
        ))
    }

    pub(crate) async fn load_interaction(
        &self,
        issuer: &Issuer,
        id: &str,
        browser: Option<&str>,
    ) -> Result<(Interaction, Pending, Client), InteractionError> {
        let id = InteractionId::parse(id).map_err(|_| InteractionError::Gone)?;
        let scope = IssuerScope::of(issuer);
        let interaction = self
            .store
            .interactions()
            .find(scope, id)
            .await?
            .filter(|i| i.expires_at > self.clock.now())
            .ok_or(InteractionError::Gone)?;
        let browser = browser.ok_or(InteractionError::Forbidden)?;
        if !constant_time_eq(
            SecretHash::of(browser).as_bytes(),
            &interaction.browser_hash,
        ) {
            return Err(InteractionError::Forbidden);
        }
        let pending: Pending = serde_json::from_value(interaction.request.clone())
            .map_err(|e| CoreError::Invalid(format!("a stored interaction is unreadable: {e}")))?;
        let client = self
            .store
            .clients()
            .find(scope, interaction.client_id)
            .await?
            .ok_or(InteractionError::Gone)?;
        Ok((interaction, pending, client))
    }

    /// Whether the user must be asked: third-party clients ask once per scope set
    /// (remembered as a [`Grant`]); first-party clients never ask; `prompt=consent` always
    /// asks.
    async fn needs_consent(
        &self,
        issuer: &Issuer,
        client: &Client,
        user: UserId,
        request: &AuthorizationRequest,
    ) -> Result<bool, CoreError> {
        if request.prompt.consent {
            return Ok(true);
        }
        if client.first_party {
            return Ok(false);
        }
        let granted = self
            .store
            .grants()
            .find(IssuerScope::of(issuer), user, client.id)
            .await?;
        Ok(match granted {
            Some(grant) => !request
                .scope
                .iter()
                .all(|s| grant.scopes.iter().any(|g| g == s)),
            None => true,
        })
    }

    async fn remember_consent(
        &self,
        issuer: &Issuer,
        client: &Client,
        user: UserId,
        consented: &Scope,
    ) -> Result<(), CoreError> {
        let scope = IssuerScope::of(issuer);
        let now = self.clock.now();
        let existing = self.store.grants().find(scope, user, client.id).await?;
        let mut scopes: Vec<String> = existing
            .as_ref()
            .map(|g| g.scopes.clone())
            .unwrap_or_default();
        scopes.extend(consented.iter().map(str::to_owned));
        scopes.sort();
        scopes.dedup();
        let grant = Grant {
            id: existing.as_ref().map_or_else(GrantId::new, |g| g.id),
            issuer_id: issuer.id,
            user_id: user,
            client_id: client.id,
            scopes,
            created_at: existing.as_ref().map_or(now, |g| g.created_at),
            updated_at: now,
        };
        let event = NewEvent::new(
            "grant.created",
            grant.id,
            Actor::User(user),
            json!({ "client_id": client.id.to_string(), "scopes": grant.scopes }),
            now,
        );
        self.store.grants().save(scope, &grant, &event).await?;
        Ok(())
    }

    /// A client of the issuer by its public id (an unparsable id names none).
    pub(crate) async fn find_client(
        &self,
        issuer: &Issuer,
        client_id: &str,
    ) -> Result<Option<Client>, CoreError> {
        let Ok(id) = ClientId::parse(client_id) else {
            return Ok(None);
        };
        Ok(self
            .store
            .clients()
            .find(IssuerScope::of(issuer), id)
            .await?)
    }

    /// The user, if they still exist and are not blocked.
    pub(crate) async fn usable_user(
        &self,
        issuer: &Issuer,
        id: UserId,
    ) -> Result<Option<User>, CoreError> {
        Ok(self
            .store
            .users()
            .find(IssuerScope::of(issuer), id)
            .await?
            .filter(|u| !u.blocked))
    }
}

/// Standard OpenID scopes are always allowed; others only when the client lists them (or
/// lists nothing, which allows any).
fn scope_allowed(client: &Client, requested: &Scope) -> bool {
    client.allowed_scopes.is_empty()
        || requested.iter().all(|s| {
            tessera_oauth::STANDARD_SCOPES.contains(&s)
                || client.allowed_scopes.iter().any(|a| a == s)
        })
}

pub(crate) fn check_csrf(
    browser: &str,
    interaction: InteractionId,
    presented: &str,
) -> Result<(), InteractionError> {
    if csrf::matches(&format!("interaction/{interaction}"), browser, presented) {
        Ok(())
    } else {
        Err(InteractionError::Forbidden)
    }
}

pub(crate) fn view(
    interaction: &Interaction,
    pending: &Pending,
    client: &Client,
    stage: Stage,
    browser: &str,
) -> InteractionView {
    InteractionView {
        id: interaction.id,
        stage,
        client_name: client.name.clone(),
        scopes: pending.request.scope.iter().map(str::to_owned).collect(),
        login_hint: pending.request.login_hint.clone(),
        ui_locales: pending.request.ui_locales.clone(),
        user_locale: None,
        csrf: csrf::token(&format!("interaction/{}", interaction.id), browser),
    }
}
