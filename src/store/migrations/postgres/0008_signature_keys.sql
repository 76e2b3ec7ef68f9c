-- Per-person ed25519 keys: a signature made with the signer's private key carries its ed25519
-- signature (hex) over `store::keys::message`, checked against the public key in snop.toml.
ALTER TABLE signatures ADD COLUMN ed25519 TEXT;
