//! Constant-time signing.
//! OWNER: SM2 helper.
