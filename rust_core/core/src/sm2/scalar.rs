//! Arithmetic mod the group order n.
//! OWNER: SM2 helper.
