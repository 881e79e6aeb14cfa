"""Electronic licences: types, issuance, wallet, presentation, verification."""
