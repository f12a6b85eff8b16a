//! Authentication context classes: the `acr` claim and the `acr_values` request parameter
//! (OIDC Core §2, §3.1.2.1).
//!
//! OIDC leaves the values to the parties ("Parties using this claim will need to agree upon
//! the meanings of the values used"). Tessera uses ordered levels, as Keycloak does, derived
//! from the authentication methods (`amr`, RFC 8176) of the sign-in itself, so the claim can
//! never disagree with `amr`:
//!
//! - [`SINGLE_FACTOR`] (`"1"`): one factor, such as a password (ISO/IEC 29115 level 1 and up);
//! - [`MULTI_FACTOR`] (`"2"`): two or more factors (`mfa`, or a password with an OTP or a
//!   hardware key). Advertised only once a second factor can be enrolled.
//!
//! `acr_values` is a *voluntary* request (OIDC Core §3.1.2.1, §5.5.1.1): when the sign-in
//! reaches a lower level than asked, the tokens say so with `acr` and the client decides.
//! Essential `acr` requests need the `claims` parameter, which is not supported (discovery
//! says `claims_parameter_supported: false`).

/// One factor.
pub const SINGLE_FACTOR: &str = "1";

/// Two or more factors.
pub const MULTI_FACTOR: &str = "2";

/// The `acr_values_supported` of discovery: the levels a sign-in can reach today.
pub const ACR_VALUES_SUPPORTED: &[&str] = &[SINGLE_FACTOR];

/// The class of a sign-in that used the methods `amr` (RFC 8176 §2 names); `None` when it
/// used none (a session that never authenticated cannot grant anything).
pub fn acr_of(amr: &[String]) -> Option<&'static str> {
    const SECOND_FACTORS: &[&str] = &["otp", "hwk", "sms", "swk"];
    let has = |method: &str| amr.iter().any(|m| m == method);
    if amr.is_empty() {
        None
    } else if has("mfa") || (amr.len() > 1 && SECOND_FACTORS.iter().any(|m| has(m))) {
        Some(MULTI_FACTOR)
    } else {
        Some(SINGLE_FACTOR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn methods(list: &[&str]) -> Vec<String> {
        list.iter().map(|m| (*m).to_owned()).collect()
    }

    #[test]
    fn a_password_alone_is_one_factor_and_with_an_otp_two() {
        assert_eq!(acr_of(&methods(&["pwd"])), Some(SINGLE_FACTOR));
        assert_eq!(acr_of(&methods(&["pwd", "otp"])), Some(MULTI_FACTOR));
        assert_eq!(acr_of(&methods(&["pwd", "mfa"])), Some(MULTI_FACTOR));
        assert_eq!(acr_of(&methods(&["hwk", "user"])), Some(MULTI_FACTOR));
        assert_eq!(acr_of(&methods(&["otp"])), Some(SINGLE_FACTOR));
        assert_eq!(acr_of(&[]), None);
    }
}
