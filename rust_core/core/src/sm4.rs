//! SM4 block cipher (GB/T 32907-2016).
//! OWNER: symmetric helper. Contract below is fixed; fill in bodies.

/// Block length in bytes.
pub const BLOCK_LEN: usize = 16;
/// Key length in bytes.
pub const KEY_LEN: usize = 16;

/// An expanded SM4 key. Round keys are wiped on drop.
#[derive(Clone)]
pub struct Sm4 {
    _todo: (),
}

impl std::fmt::Debug for Sm4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sm4 { .. }")
    }
}

impl Sm4 {
    /// Expands `key`.
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        let _ = key;
        todo!()
    }
    /// Encrypts one block in place.
    pub fn encrypt_block(&self, block: &mut [u8; BLOCK_LEN]) {
        let _ = block;
        todo!()
    }
    /// Decrypts one block in place.
    pub fn decrypt_block(&self, block: &mut [u8; BLOCK_LEN]) {
        let _ = block;
        todo!()
    }
}
