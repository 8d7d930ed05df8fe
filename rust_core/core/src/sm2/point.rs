//! Points on sm2p256v1 (Jacobian, a = −3).
//! OWNER: SM2 helper.
