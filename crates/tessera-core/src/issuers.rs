//! Issuers: creation, settings, deletion.
