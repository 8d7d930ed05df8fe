//! Arithmetic mod p = 2^256 − 2^224 − 2^96 + 2^64 − 1.
//! OWNER: SM2 helper.
