/* unit-keys.h: the fixed keys of the signature tests (test-pubkey.c,
 * test-dkim-verify.c), made once with the openssl command; the vectors
 * signed with them stay in the tests.  Test data only: these private keys
 * are public.  Static arrays in a header: each test takes what it uses. */
#ifndef UNIT_KEYS_H
#define UNIT_KEYS_H

/* The Ed25519 key of RFC 8463 A.2 (PKCS#8 PEM). */
static const char unit_key_ed25519_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
	"-----END PRIVATE KEY-----\n";

/* Its public key, base64 (a DKIM p= value). */
static const char unit_key_ed25519_pub[] =
	"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

/* An RSA 1024 key (PKCS#8 PEM). */
static const char unit_key_rsa1024_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIICdQIBADANBgkqhkiG9w0BAQEFAASCAl8wggJbAgEAAoGBAJlEGfU17kT+Ep1R\n"
	"nWYfqRMeztpzKmLflkX4jfBZX7Ctb+Z4f+whGdjd4vvb1fpilAzlGHmm5XWbWFby\n"
	"4/95GSNjf7NFYWMP31FxlTbl5qwrqcdpEbPEaHVzDFilzU78DPsopzlirYNZYDzK\n"
	"l92XcR4fK+7DyoYJ8dab1+srogJfAgMBAAECgYAqcFwLtSJEAmJfI3FFDPFBNR+s\n"
	"B4WuGSFAQMH00pqXjn7Uv3sUhFnm3hHzEX1ftpouM+WiEd+pwBknAly1qe+WmkAX\n"
	"PL476zcvSvv0tzWRV1UD3ksCkCB6BWgVYvAvXrl3StoKhyuge1t/pVidWzfkEt2u\n"
	"+0s+E1eZjrLJjpQd4QJBAMwoX1Re3NLGIfCDpHSG/WN+ZaVCCFysRRTePuprWekM\n"
	"V3WuLbiY0lgvnNmiFsc8n03mS91k6U9lrt3w/Q4KdI8CQQDAL20nLJUH1C5UtnHo\n"
	"5gQd3VMwIGfxi8WF481B7WL/U1Wj+O1m33E9vM5en9OnLanY6Ec7oNtBwPHykqMa\n"
	"ep0xAkBmJVT9C7GEq6lTgyoHO3sQCq+krZMteuvdcw0bkLadiZVAxfMORzgG81uQ\n"
	"8C5hZQ13lmAi11h8Zy3E0cxq+AQ1AkAlv+sX28j2PbZQC3o6fhvm5dd2R5dDOeo1\n"
	"j3Z88a0VbAARck7nexJaRyDeM1S2rOCE67M6QjFvLAAaXrVM+TKxAkBjMiszYgxP\n"
	"UQ0NIEdBZuUS6sCkcJhairTRxjS4IXxA708hv7AFV0NNbs7CT/bvOOISHA2jvaek\n"
	"Ql4Et0AjkJtB\n"
	"-----END PRIVATE KEY-----\n";

/* Its public key: SubjectPublicKeyInfo, base64 (DKIM's p=). */
static const char unit_key_rsa1024_spki[] =
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCZRBn1Ne5E/hKdUZ1mH6kTHs7a"
	"cypi35ZF+I3wWV+wrW/meH/sIRnY3eL729X6YpQM5Rh5puV1m1hW8uP/eRkjY3+z"
	"RWFjD99RcZU25easK6nHaRGzxGh1cwxYpc1O/Az7KKc5Yq2DWWA8ypfdl3EeHyvu"
	"w8qGCfHWm9frK6ICXwIDAQAB";

/* The same as a PKCS#1 RSAPublicKey, base64. */
static const char unit_key_rsa1024_pkcs1[] =
	"MIGJAoGBAJlEGfU17kT+Ep1RnWYfqRMeztpzKmLflkX4jfBZX7Ctb+Z4f+whGdjd"
	"4vvb1fpilAzlGHmm5XWbWFby4/95GSNjf7NFYWMP31FxlTbl5qwrqcdpEbPEaHVz"
	"DFilzU78DPsopzlirYNZYDzKl92XcR4fK+7DyoYJ8dab1+srogJfAgMBAAE=";

/* An RSA 2048 key (PKCS#1 "RSA PRIVATE KEY" PEM). */
static const char unit_key_rsa2048_pem[] =
	"-----BEGIN RSA PRIVATE KEY-----\n"
	"MIIEpAIBAAKCAQEA0/Z2pQ4fPvBdExUjl+0r4KEcfEJm0atoEY+frzetUoIqAKYP\n"
	"PLo5jQTT1Jk8I9J5LirpUggoMCDI2MccyLYckaAqJeLFdu7a3C0y9H53lGlo9FNo\n"
	"2a1730fsBCJTwkyDYjQH7dv2b3jBrAxNfTIUtsV5h7PEcHse3LLuAW25UXUh7ozl\n"
	"wDFoD7kKZcPGVUJY2l97k6IHCbHWyvM0cxGKTHZX+VBZP8WN//A5/oktg8Ludgus\n"
	"4M6twtgINLpiKezhNje9vIr4wyqcwGegL6S4zTRC0/RyV52rFIdbg9+hVEHG9Rvp\n"
	"V6EIH1GJT7uapMALAYt/GkthRaG0BUF1eIfcYQIDAQABAoIBABTzdzv+mrpMBCkp\n"
	"FV70oZoHFsOWBSd7nbJhq8ckFdjSVqBAicBHCH3+wIjyugnw6Ys1kOErvvwt22ho\n"
	"+viAXq/KwOvEf9/vAVlSyub1krCL4ETJM1OT1SsHZwXsFjMeAL0N10xMqg3P5fXR\n"
	"c/3YW8mKmKYAD/5NvynRslqYC8GoKBCS9lD0lQZNIMh3+nS+b7EeUwYGPBIWanIf\n"
	"Bm8hmbVivb5wdbTmM2FthW6dHwSfbi/trRvRR4vjuq2K9gUi+LTe8gKkxAaqlkrn\n"
	"VKdhxcLledibcYG0+bTr8EcC8dxHK2LlQyLZLxg/w0xEFjz/6QihMM/mOJpjlH9v\n"
	"OvBs0akCgYEA896ZEV+2Pq2pwoaCSJMB5KTbrApD056g20ey0vl2ITA0M0KA8F4k\n"
	"ubhTUeZxutgpZa0bI2eKZ+KaAvG+ngxt5iPfI7rfCJ6M0MeZNIwnh83U264LXXvx\n"
	"SZMRUcej356KWnPwH5CJXbz6InnyYZhrweF/c2+uI+DyBKhY0SoISrkCgYEA3oGR\n"
	"o4ZMy+9ODvm89j0pGIH2yTbuRN95tPRrrT3pfKm74cV9CoZuftgbzt7hb1TIfti0\n"
	"CCC5OvJ5cd1CuuYBrT1yEkjQnrOkPC1NeOJK87TicZe5WQXNLOAPKCwDryCFTVne\n"
	"S3wpUWtaOvuIBqck/qedDvKrzXIxz6jL1l3FqukCgYEArang+xxbnbrx3xMGiEQX\n"
	"3wj/Xj5ZGsQl7MHcOJ1pYC0Bn1dGluWT5aW7v+EJMHNq13s0jjvXti8KWfppMgfL\n"
	"4028Q6d52Jt/z9Wz5lXAeNc9M8t3UHVI2IoglUpECqTOBaf2YaP+DoDa595LmvB+\n"
	"HC1HI59uNSKldmekCB+UlBECgYEAieEagY2AW0MwSMFi4eemZqRqa+eZIJ6myYZI\n"
	"jzL1U6XOYipBwNrq77k1Ci083wNXtprMfNjiT2/f57onVq+ezF5uKHxsoltJY2zj\n"
	"PAxmS7yEMcXGOi8JJEy3t7oGkmgBkpwkzvvikqyGXlRtx0md+BufjJq98XJZAYhk\n"
	"v7KeAbkCgYAnHWutz+Ci4jOGMdK+ZmdJZ/zBV7FuKU0WyFqCV7o4ER1Z2aFpF6C4\n"
	"R2k47rHBf7g/bsZ7DmfEprim4siz92MCsgl54bvB7wbwoUgPHvvjrh69F1GJbFU6\n"
	"yMgzXwR+u/WanP/nupgNybD3Sc+Llgn7WG9C2ZXRIvVgszFfnSFCzw==\n"
	"-----END RSA PRIVATE KEY-----\n";

/* Its public key: SubjectPublicKeyInfo, base64. */
static const char unit_key_rsa2048_spki[] =
	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0/Z2pQ4fPvBdExUjl+0r"
	"4KEcfEJm0atoEY+frzetUoIqAKYPPLo5jQTT1Jk8I9J5LirpUggoMCDI2MccyLYc"
	"kaAqJeLFdu7a3C0y9H53lGlo9FNo2a1730fsBCJTwkyDYjQH7dv2b3jBrAxNfTIU"
	"tsV5h7PEcHse3LLuAW25UXUh7ozlwDFoD7kKZcPGVUJY2l97k6IHCbHWyvM0cxGK"
	"THZX+VBZP8WN//A5/oktg8Ludgus4M6twtgINLpiKezhNje9vIr4wyqcwGegL6S4"
	"zTRC0/RyV52rFIdbg9+hVEHG9RvpV6EIH1GJT7uapMALAYt/GkthRaG0BUF1eIfc"
	"YQIDAQAB";

/* A 512-bit RSA public key (too small to be accepted). */
static const char unit_key_rsa512_spki[] =
	"MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAK6H1cqRAVjyqNLMUob71uHWtAqp2Dre"
	"grtuDf23wXWmYQDO3QbgDVNAjGuoBvRk8rPoGjQUUM4qmI3/GfO98iMCAwEAAQ==";

#endif
