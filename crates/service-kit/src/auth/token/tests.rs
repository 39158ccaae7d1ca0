//! Test keys: `testdata/{a,b}.{key,pub}`, made with `openssl genpkey -algorithm ed25519`
//! for these tests alone.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("testdata/{name}"))
}

fn minter(key: &str, audience: &str) -> Minter {
    Minter::from_pem_file(&testdata(key), audience).expect("a test key")
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn a_token_names_its_principal_and_either_rotated_key_verifies_it() {
    let both = std::fs::read_to_string(testdata("a.pub")).unwrap()
        + &std::fs::read_to_string(testdata("b.pub")).unwrap();
    let file = std::env::temp_dir().join(format!("saga-keys-{}.pem", std::process::id()));
    std::fs::write(&file, both).unwrap();
    let verifier = Verifier::from_pem_files(std::slice::from_ref(&file), "saga").expect("two keys");
    std::fs::remove_file(file).ok();
    let old = minter("a.key", "saga").mint(Role::Customer, "alice", HOUR);
    let new = minter("b.key", "saga").mint(Role::Operator, "ops", HOUR);
    assert_eq!(
        verifier.verify(&old),
        Ok(Principal::Customer("alice".into()))
    );
    assert_eq!(verifier.verify(&new), Ok(Principal::Operator("ops".into())));
}

#[test]
fn a_foreign_key_another_audience_an_expired_or_forged_token_is_refused() {
    let verifier = Verifier::from_pem_files(&[testdata("a.pub")], "saga").unwrap();
    let foreign = minter("b.key", "saga").mint(Role::Operator, "ops", HOUR);
    assert_eq!(verifier.verify(&foreign), Err(TokenError::BadSignature));
    let elsewhere = minter("a.key", "billing").mint(Role::Customer, "alice", HOUR);
    assert_eq!(verifier.verify(&elsewhere), Err(TokenError::WrongAudience));

    let mut claims = Claims {
        sub: "alice".into(),
        role: Role::Customer,
        aud: "saga".into(),
        exp: 1_000_000,
        iat: 0,
    };
    let signer = EncodingKey::from_ed_pem(&std::fs::read(testdata("a.key")).unwrap()).unwrap();
    let sign = |claims: &Claims| {
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &signer).unwrap()
    };
    assert_eq!(verifier.verify(&sign(&claims)), Err(TokenError::Expired));

    // A customer's token whose role is raised keeps its signature no more.
    let token = minter("a.key", "saga").mint(Role::Customer, "alice", HOUR);
    let [head, body, signature]: [&str; 3] =
        token.split('.').collect::<Vec<_>>().try_into().unwrap();
    let mut raised: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap();
    raised["role"] = "operator".into();
    let raised = URL_SAFE_NO_PAD.encode(raised.to_string());
    assert_eq!(
        verifier.verify(&format!("{head}.{raised}.{signature}")),
        Err(TokenError::BadSignature)
    );

    // An HMAC token signed with the public key as its secret (the classic
    // algorithm confusion) is refused: only EdDSA is accepted.
    let public = std::fs::read(testdata("a.pub")).unwrap();
    claims.exp = u64::MAX / 2;
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&public).unwrap(),
    )
    .unwrap();
    assert_eq!(
        verifier.verify(&confused),
        Err(TokenError::Malformed("only EdDSA is accepted".into()))
    );

    // A token not valid yet (`nbf` an hour ahead, beyond the leeway) is refused.
    let now = jsonwebtoken::get_current_timestamp();
    let early = serde_json::json!({
        "sub": "alice", "role": "customer", "aud": "saga", "iat": now, "exp": now + 7200, "nbf": now + 3600,
    });
    let early = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &early, &signer).unwrap();
    assert_eq!(
        verifier.verify(&early),
        Err(TokenError::Malformed(
            "the token is not valid yet (`nbf`)".into()
        ))
    );

    // A subject no customer id can be (a control character) is refused.
    claims.sub = "alice\u{1f}x".into();
    assert!(matches!(
        verifier.verify(&sign(&claims)),
        Err(TokenError::Malformed(_))
    ));
    assert!(matches!(
        verifier.verify("not.a.token"),
        Err(TokenError::Malformed(_))
    ));
}

#[test]
fn a_key_file_without_a_public_key_is_refused_with_its_path() {
    let err = Verifier::from_pem_files(&[testdata("a.key")], "saga").unwrap_err();
    assert!(err.to_string().contains("a.key"), "{err}");
}
