/*
 * test_gw_secret.c - secret buffers, constant-time equality, random ids and
 * the strict hex/base64 codecs of gateway/secret.c.
 *
 * Codecs are checked against RFC 4648's test vectors and then from the other
 * side: every kind of malformed input they must refuse.
 */
#include <ctype.h>
#include <string.h>

#include "gateway/secret.h"
#include "tests/unit/check.h"

static void secret_alloc_is_zeroed_and_free_resets(void)
{
	struct gw_secret s;
	CHECK_INT(gw_secret_alloc(&s, 100), GW_SECRET_OK);
	CHECK(s.p != NULL);
	CHECK_INT(s.n, 100);
	int zero = 1;
	for (size_t i = 0; i < s.n; i++)
		zero &= s.p[i] == 0;
	CHECK(zero);
	memset(s.p, 0xAA, s.n);
	gw_secret_free(&s);
	CHECK(s.p == NULL);
	CHECK_INT(s.n, 0);
	gw_secret_free(&s); /* twice is harmless */
	gw_secret_free(NULL);
}

static void secret_from_copies_and_empty_secret_has_no_memory(void)
{
	struct gw_secret s;
	CHECK_INT(gw_secret_from(&s, "hunter2", 7), GW_SECRET_OK);
	CHECK(s.n == 7 && memcmp(s.p, "hunter2", 7) == 0);
	gw_secret_free(&s);
	CHECK_INT(gw_secret_alloc(&s, 0), GW_SECRET_OK);
	CHECK(s.p == NULL && s.n == 0);
	CHECK_INT(gw_secret_alloc(&s, GW_SECRET_MAX + 1), GW_SECRET_ERR_ARG);
	CHECK_INT(gw_secret_from(&s, NULL, 3), GW_SECRET_ERR_ARG);
}

static void ct_equal_accepts_equal_and_refuses_any_difference(void)
{
	CHECK(gw_ct_equal("abcdef", 6, "abcdef", 6));
	CHECK(!gw_ct_equal("abcdef", 6, "abcdeF", 6));
	CHECK(!gw_ct_equal("abcdef", 6, "Abcdef", 6));
	CHECK(!gw_ct_equal("abcdef", 6, "abcde", 5)); /* prefix is not equal */
	CHECK(!gw_ct_equal("abcde", 5, "abcdef", 6)); /* nor is an extension */
	CHECK(!gw_ct_equal("abcdef", 6, NULL, 6));
	CHECK(gw_ct_equal("", 0, "", 0));
	CHECK(!gw_ct_equal("", 0, "x", 1));
}

static void random_bytes_differ_between_calls(void)
{
	unsigned char a[32], b[32];
	CHECK_INT(gw_random_bytes(a, sizeof(a)), GW_SECRET_OK);
	CHECK_INT(gw_random_bytes(b, sizeof(b)), GW_SECRET_OK);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	char h[33];
	CHECK_INT(gw_random_hex(h, sizeof(h), 16), GW_SECRET_OK);
	CHECK_INT(strlen(h), 32);
	for (size_t i = 0; i < 32; i++)
		CHECK(isxdigit((unsigned char)h[i]) && !isupper((unsigned char)h[i]));
	CHECK_INT(gw_random_hex(h, 32, 16), GW_SECRET_ERR_SPACE);
}

static int all_in(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(set, s[i]))
			return 0;
	return 1;
}

static void access_key_ids_are_aws_shaped_and_unique(void)
{
	char a[GW_ACCESS_KEY_ID_LEN + 1], b[GW_ACCESS_KEY_ID_LEN + 1];
	CHECK_INT(gw_random_access_key_id("AKIA", a, sizeof(a)), GW_SECRET_OK);
	CHECK_INT(gw_random_access_key_id("ASIA", b, sizeof(b)), GW_SECRET_OK);
	CHECK_INT(strlen(a), 20);
	CHECK(strncmp(a, "AKIA", 4) == 0 && strncmp(b, "ASIA", 4) == 0);
	CHECK(all_in(a + 4, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"));
	CHECK(all_in(b + 4, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"));
	CHECK(strcmp(a + 4, b + 4) != 0);
	/* Every base32 position is used over many ids (no stuck bits). */
	unsigned seen[16] = {0};
	for (int i = 0; i < 200; i++) {
		CHECK_INT(gw_random_access_key_id("AKIA", a, sizeof(a)), GW_SECRET_OK);
		for (int k = 0; k < 16; k++)
			seen[k] |= 1u << (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", a[4 + k]) -
			                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
	}
	for (int k = 0; k < 16; k++)
		CHECK(__builtin_popcount(seen[k]) > 24);
}

static void access_key_id_refuses_unknown_prefix_and_short_buffer(void)
{
	char a[GW_ACCESS_KEY_ID_LEN + 1];
	CHECK_INT(gw_random_access_key_id("AROA", a, sizeof(a)), GW_SECRET_ERR_ARG);
	CHECK_INT(gw_random_access_key_id("AKIA", a, GW_ACCESS_KEY_ID_LEN), GW_SECRET_ERR_SPACE);
}

static void secret_access_keys_are_40_base64_characters_in_a_secret(void)
{
	struct gw_secret s, t;
	CHECK_INT(gw_random_secret_access_key(&s), GW_SECRET_OK);
	CHECK_INT(gw_random_secret_access_key(&t), GW_SECRET_OK);
	CHECK_INT(s.n, 40);
	CHECK_INT(strlen((char *)s.p), 40);
	CHECK(all_in((char *)s.p, 40,
	             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"));
	CHECK(!gw_ct_equal(s.p, s.n, t.p, t.n));
	gw_secret_free(&s);
	gw_secret_free(&t);
}

static void hex_round_trips_and_accepts_either_case(void)
{
	unsigned char in[] = {0x00, 0x01, 0xab, 0xff};
	char h[9];
	CHECK_INT(gw_hex_encode(in, 4, h, sizeof(h)), GW_SECRET_OK);
	CHECK_STR(h, "0001abff");
	unsigned char out[4];
	size_t n = 0;
	CHECK_INT(gw_hex_decode("0001ABff", 8, out, sizeof(out), &n), GW_SECRET_OK);
	CHECK(n == 4 && memcmp(out, in, 4) == 0);
	CHECK_INT(gw_hex_encode(in, 4, h, 8), GW_SECRET_ERR_SPACE);
}

static void hex_decode_refuses_odd_length_and_non_hex(void)
{
	unsigned char out[8];
	size_t n = 99;
	CHECK_INT(gw_hex_decode("abc", 3, out, sizeof(out), &n), GW_SECRET_ERR_INVALID);
	CHECK_INT(n, 0);
	CHECK_INT(gw_hex_decode("zz", 2, out, sizeof(out), &n), GW_SECRET_ERR_INVALID);
	CHECK_INT(gw_hex_decode("0x12", 4, out, sizeof(out), &n), GW_SECRET_ERR_INVALID);
	CHECK_INT(gw_hex_decode("12 4", 4, out, sizeof(out), &n), GW_SECRET_ERR_INVALID);
	CHECK_INT(gw_hex_decode("1234", 4, out, 1, &n), GW_SECRET_ERR_SPACE);
}

struct b64_vector {
	const char *plain, *std, *url;
};

static void base64_matches_rfc4648_vectors_both_ways(void)
{
	static const struct b64_vector v[] = {
	    {"", "", ""},
	    {"f", "Zg==", "Zg"},
	    {"fo", "Zm8=", "Zm8"},
	    {"foo", "Zm9v", "Zm9v"},
	    {"foob", "Zm9vYg==", "Zm9vYg"},
	    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
	    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
	    {"\xfb\xff\xfe", "+//+", "-__-"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char enc[32];
		unsigned char dec[32];
		size_t n = 0, pn = strlen(v[i].plain);
		CHECK_INT(gw_base64_encode(v[i].plain, pn, GW_B64_STD, enc, sizeof(enc)), 0);
		CHECK_STR(enc, v[i].std);
		CHECK_INT(gw_base64_encoded_len(pn, GW_B64_STD), strlen(v[i].std));
		CHECK_INT(gw_base64_encode(v[i].plain, pn, GW_B64_URL, enc, sizeof(enc)), 0);
		CHECK_STR(enc, v[i].url);
		CHECK_INT(gw_base64_encoded_len(pn, GW_B64_URL), strlen(v[i].url));
		CHECK_INT(
		    gw_base64_decode(v[i].std, strlen(v[i].std), GW_B64_STD, dec, sizeof(dec), &n),
		    0);
		CHECK(n == pn && memcmp(dec, v[i].plain, n) == 0);
		CHECK_INT(
		    gw_base64_decode(v[i].url, strlen(v[i].url), GW_B64_URL, dec, sizeof(dec), &n),
		    0);
		CHECK(n == pn && memcmp(dec, v[i].plain, n) == 0);
		CHECK(gw_base64_decoded_max(strlen(v[i].url)) >= pn);
	}
}

static int b64_bad(const char *s, enum gw_b64 a)
{
	unsigned char out[64];
	size_t n = 0;
	return gw_base64_decode(s, strlen(s), a, out, sizeof(out), &n) == GW_SECRET_ERR_INVALID;
}

static void base64_decode_refuses_malformed_input(void)
{
	CHECK(b64_bad("Zg=", GW_B64_STD));      /* length not a multiple of 4 */
	CHECK(b64_bad("Zg", GW_B64_STD));       /* padding missing */
	CHECK(b64_bad("Zh==", GW_B64_STD));     /* non-zero trailing bits */
	CHECK(b64_bad("Zm9=", GW_B64_STD));     /* non-zero trailing bits, one '=' */
	CHECK(b64_bad("Z===", GW_B64_STD));     /* too much padding */
	CHECK(b64_bad("Zg==Zg==", GW_B64_STD)); /* padding in the middle */
	CHECK(b64_bad("Zm 9v", GW_B64_STD));    /* white space */
	CHECK(b64_bad("Zm9v\n", GW_B64_STD));   /* trailing newline */
	CHECK(b64_bad("-__-", GW_B64_STD));     /* URL alphabet in STD */
	CHECK(b64_bad("+//+", GW_B64_URL));     /* STD alphabet in URL */
	CHECK(b64_bad("Zg==", GW_B64_URL));     /* padding in URL */
	CHECK(b64_bad("Zm9vY", GW_B64_URL));    /* 1 mod 4 characters */
	CHECK(b64_bad("Zh", GW_B64_URL));       /* non-zero trailing bits */
	CHECK(b64_bad("Zm\x80v", GW_B64_STD));  /* high byte */
	unsigned char out[2];
	size_t n;
	CHECK_INT(gw_base64_decode("Zm9v", 4, GW_B64_STD, out, sizeof(out), &n),
	          GW_SECRET_ERR_SPACE);
	char enc[4];
	CHECK_INT(gw_base64_encode("foo", 3, GW_B64_STD, enc, sizeof(enc)), GW_SECRET_ERR_SPACE);
}

static const struct check_case cases[] = {
    {"a secret starts zeroed and free leaves it empty", secret_alloc_is_zeroed_and_free_resets},
    {"a secret copies its bytes; an empty secret holds no memory",
     secret_from_copies_and_empty_secret_has_no_memory},
    {"constant-time equality accepts equal bytes and refuses any difference or length",
     ct_equal_accepts_equal_and_refuses_any_difference},
    {"random bytes differ between calls and random hex is lower-case",
     random_bytes_differ_between_calls},
    {"access key ids are AKIA/ASIA plus 16 base32 characters and unique",
     access_key_ids_are_aws_shaped_and_unique},
    {"access key ids refuse an unknown prefix and a short buffer",
     access_key_id_refuses_unknown_prefix_and_short_buffer},
    {"secret access keys are 40 base64 characters held in a secret buffer",
     secret_access_keys_are_40_base64_characters_in_a_secret},
    {"hex round-trips and decodes either case", hex_round_trips_and_accepts_either_case},
    {"hex decoding refuses odd lengths and non-hex characters",
     hex_decode_refuses_odd_length_and_non_hex},
    {"base64 and base64url match the RFC 4648 vectors both ways",
     base64_matches_rfc4648_vectors_both_ways},
    {"base64 decoding refuses bad padding, foreign alphabets, white space and loose bits",
     base64_decode_refuses_malformed_input},
};

CHECK_MAIN(cases)
