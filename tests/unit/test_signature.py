from webhooks.signature import sign, verify

BODY = b'{"zen": "Keep it logically awesome."}'


def test_valid_signature_is_accepted() -> None:
    assert verify(BODY, sign(BODY, "s3cret"), ["s3cret"])


def test_any_of_several_secrets_is_accepted_for_rotation() -> None:
    assert verify(BODY, sign(BODY, "new"), ["old", "new"])
    assert verify(BODY, sign(BODY, "old"), ["old", "new"])


def test_wrong_secret_missing_header_or_prefix_is_refused() -> None:
    assert not verify(BODY, sign(BODY, "other"), ["s3cret"])
    assert not verify(BODY, None, ["s3cret"])
    assert not verify(BODY, "", ["s3cret"])
    assert not verify(BODY, sign(BODY, "s3cret").removeprefix("sha256="), ["s3cret"])
    assert not verify(BODY, sign(BODY, "s3cret"), [])


def test_tampered_body_is_refused() -> None:
    assert not verify(BODY + b" ", sign(BODY, "s3cret"), ["s3cret"])


def test_signature_matches_githubs_documented_example() -> None:
    # From GitHub's "Validating webhook deliveries" documentation.
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign(b"Hello, World!", "It's a Secret to Everybody") == expected
