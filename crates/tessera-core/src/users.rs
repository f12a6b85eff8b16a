//! Users of an issuer: provisioning, profile changes, blocking and passwords.
