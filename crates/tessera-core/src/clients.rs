//! Clients (applications) of an issuer: registration, changes, secret rotation.
