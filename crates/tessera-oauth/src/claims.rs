//! Which standard claims a granted scope releases (OIDC Core §5.4).
//!
//! OpenID Connect lets a client ask for sets of claims by scope value: `profile`, `email`,
//! `address` and `phone`. The UserInfo endpoint and the ID token release exactly the claims of
//! the granted scope and nothing more, so the mapping lives in one table here, and discovery's
//! `claims_supported` is built from the same table.
//!
//! `sub` is not listed: it is released with every OpenID Connect response whatever the scope
//! (OIDC Core §5.3.2: "The sub Claim MUST always be returned"). The `claims` request parameter
//! (OIDC Core §5.5) is not supported, so scopes are the only way to ask for claims.

use crate::scope::Scope;

/// `profile` (OIDC Core §5.4), in the order the section lists them.
const PROFILE: &[&str] = &[
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
];
/// `email` (OIDC Core §5.4).
const EMAIL: &[&str] = &["email", "email_verified"];
/// `address` (OIDC Core §5.4).
const ADDRESS: &[&str] = &["address"];
/// `phone` (OIDC Core §5.4).
const PHONE: &[&str] = &["phone_number", "phone_number_verified"];

/// Every standard claim a scope can release, in the order of the table in OIDC Core §5.1
/// (without `sub`, which is always released).
pub(crate) const STANDARD_ORDER: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
];

/// The standard claims a scope value asks for (OIDC Core §5.4); none for any other value.
pub fn claims_of_scope(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => PROFILE,
        "email" => EMAIL,
        "address" => ADDRESS,
        "phone" => PHONE,
        _ => &[],
    }
}

/// Every claim the granted scope releases, in the order of OIDC Core §5.1, each once.
pub fn released_claims(scope: &Scope) -> Vec<&'static str> {
    STANDARD_ORDER
        .iter()
        .copied()
        .filter(|claim| {
            scope
                .iter()
                .any(|token| claims_of_scope(token).contains(claim))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn released(scope: &str) -> Vec<&'static str> {
        released_claims(&Scope::parse(scope).unwrap())
    }

    #[test]
    fn each_standard_scope_asks_for_the_claims_of_oidc_core_5_4() {
        assert_eq!(claims_of_scope("profile").len(), 14);
        assert_eq!(claims_of_scope("email"), ["email", "email_verified"]);
        assert_eq!(claims_of_scope("address"), ["address"]);
        assert_eq!(
            claims_of_scope("phone"),
            ["phone_number", "phone_number_verified"]
        );
    }

    #[test]
    fn other_scope_values_ask_for_no_claims() {
        for scope in ["openid", "offline_access", "Profile", "api:read", ""] {
            assert!(claims_of_scope(scope).is_empty(), "{scope}");
        }
    }

    #[test]
    fn released_claims_follow_the_order_of_oidc_core_5_1() {
        assert_eq!(
            released("phone openid email"),
            [
                "email",
                "email_verified",
                "phone_number",
                "phone_number_verified"
            ]
        );
        assert_eq!(
            released("profile")[..3],
            ["name", "given_name", "family_name"]
        );
    }

    #[test]
    fn a_scope_without_claim_scopes_releases_nothing() {
        assert!(released("openid offline_access").is_empty());
        assert!(released_claims(&Scope::empty()).is_empty());
    }

    #[test]
    fn every_claim_of_every_scope_has_a_place_in_the_order() {
        for scope in ["profile", "email", "address", "phone"] {
            for claim in claims_of_scope(scope) {
                assert!(STANDARD_ORDER.contains(claim), "{claim}");
            }
        }
        let all = released("profile email address phone");
        assert_eq!(all, STANDARD_ORDER);
    }
}
