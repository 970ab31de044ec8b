/* test_hdr.c: unit tests for the HDR histogram: geometry, percentiles, merge, V2 codec. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "metrics/hdr.h"

/*
 * Reference strings, each from another HdrHistogram implementation's public tests, with
 * what those tests assert about them.
 */

/* HdrHistogram_c output (quoted in a Java test that round-trips it) for a 1..3.6e9, 3-digit
 * histogram holding 3335, 3108, 2638, 2567 and 2470 once each. */
static const char ref_c_five[] =
    "HISTFAAAAC14nJNpmSzMwMDAywABzFCaEURcm7yEwf4DRGCpMlMskyvTZWam+4xMAKW6B74=";
/* HdrHistogramJS build() + recordValue(42): total 1, mean 42 (JS and Go tests). */
static const char ref_js_42[] = "HISTFAAAAB542pNpmSzMwMDAxAABzFCaEUoz2X+AMIKZAEARAtM=";
/* HdrHistogramJS Int32Histogram(1, 2, 3) + recordValue(42); this writer puts 1 in the
 * normalizing offset and int64 1 in the conversion-ratio field. Total 1, mean 42. */
static const char ref_js_42_legacy[] = "HISTFAAAAB94nJNpmSzMwMDABMSMQMzMAAGMUJoJxg9mAgA1TQGm";
/* hdrhistogram-go: empty histogram with lowest 20, highest 1000, 3 digits. */
static const char ref_go_empty[] = "HISTFAAAABl4nJNpmSzMgADMUFoEyn1h/wHCAgBDogN4";
/* Java after shiftValuesLeft(2) (normalizing offset 2048): 7 counts in the bucket at 4936,
 * min 4936, max 4939 (hdrhistogram-go compatibility test). */
static const char ref_java_shifted[] =
    "HISTFAAAACR4nJNpmSzMwMDAzMDAwQChwYARTPI7Odh/gAgsNuYDAEyEA/o=";
/* First interval of jHiccup-2.0.7S.logV2.hlog (Java, lowest 20000, highest 3.6e12,
 * 2 digits), logged with Interval_Max 2.769 (max / 1e6). */
static const char ref_jhiccup[] =
    "HISTFAAAAEV42pNpmSzMwMCgyAABTBDKT4GBgdnNYMcCBvsPEBEJISEuATEZMQ4uASkhIR4nrxg9v2lMaxhvMekILGZ"
    "kKmcCAEf2CsI=";
/* HISTIgAA...: a V1 encoding, which the JS and Go decoders refuse. */
static const char ref_v1[] = "HISTIgAAAFd42pNpmazIwMAYxgABTBDKT4GBgdnNYMcCBvsPUBkeBkYGZqA8MwMbAz"
                             "sDC5DFBCTZgJCDQY1BjkGLQZRBlUEPCB8zWDCYMxgDZZkZhgJgHDibAY8JB/A=";
/* HdrHistogram_c regression input: V2 with a negative payload length. */
static const char ref_c_negative_payload[] = "HISTBAAAABl4nJNpmcz8HwgYIIARjWay/8CAAgD0TwZm";
/* HdrHistogramJS / hdrhistogram-go: 10000 values, highest 131071. */
static const char ref_js_big[] =
    "HISTFAAACGB42j1WQY4cuRGks7KzWWwOh1NTGo1GEmzBWCx0EAxjsdiTsdiTD4ZPfoa/4R/4o/7BOiKSrWnNVBWL"
    "zIyMiMzWp//897mUA7/62db1D/n3999//V8umBW74POTPds7+4In2/xq722zv9huj/bRbvZH+2oPdrV3vtu//AOe"
    "P9if8Ra7H7DlhlcPePyo+w1xrrh+84uZFzd7QkyEL/ZXJPgN295jC5bsii0FN084/BXXDQH+jqPMlhn5eYf1D/be"
    "b9h7BdSfseMJGG5C94h3BRFveibyZ9x9wR1KeaebR0P8J/vVfsCbHevv7DOxPxt2/1MrLOQz3j8BH2DjhOHpA/Zf"
    "EILRWaD9bZHyb7z60X6xRxByMzxsQEJsCPlNoP/BFI849WQP/iy+cHJHqG+4veIAWcf+DQ9Y51MRBRueHlRqEbOP"
    "XqQR74Ec28Dab9pseLpqI7na/bPCPuBz0xskIIAvUqVIpQdTcr7/Afje68RHpPwsBrXnUYE3UVy0AYubljZTggsh"
    "U+gdlTHej6iyJEfXuOb+B51wcXdbzD/yaFkQNn+fXnHBY7In5Sgi4wb34IYciy83hbxSG/pJFipa+VnByeJXFMPD"
    "0pQMoUTc+i3BExV+bgKa98WYHqk2GnaH+bPg3Xl8X9AEZpcI4qCsDx/9kpfMWJyG3Xz3PQGWDI88N2myqfh1c9H1"
    "0XQT4qoI1E19uC87cKMLtS2byDWs3u6Qnlyet7gqYvHtTnWaKXndXBZ6oo2IGJTnywxyuT/tstx+p2ZTBQKQql6F"
    "67ogJCWXxO4cIrhcJfwui1ouMTInwc1vi8RLtSUuJarJNYtGjgcpuPuDcHBgMMQqyiwZUF0C4ImHhRehVqurp7w0"
    "npbmm2yllFTJXEJv3wNJL/LEQlYxFw9bei3hmY9oWJO70goSLxpr3q+22EhF434Sa/i58M+yTSKGdHYJW6aETlou"
    "ZMIyrSbqCgd6N6DyBJ3q4TUmLlNuUcJZoTasfmAtSLBpLssdC96+ig9Cu3PKZ0/RNZsyENkDXiZOrusmWXYcjs2y"
    "jbDX9ljQfV3ijoMPvEbiJvOeTIGRO0OXO5ll1U6W2bqhAsDelenq9/Zy+dnVAQv5fudVfUcAG15gGFRGvvrVy3cm"
    "Nqa+eIlkZbkT7ighNrZEcwmtMaQno241JTed3URhOuOSE6wsDRapRVnFhpJdkxZfv3GLrJqu5LZLLi+XpOfFaRIS"
    "d19d6BkMlmBcNOxW0zmF5odgllbO/lCxPEKDkP9lVjKULpF/WEXdeA1lYo3A3oSYXIa4KLWwQZitlaixpfXYzniV"
    "6nPbQDaPKIIu/SuTBk7JuVhWJJcXeSi80hQMmbTLh7Ws0qsoRIoadRNFZBY5NtoxP3jp6kjiR8BNdTFbLNRllIj8"
    "ErLOgcDV7qsXbKu0SFSK4FU80l7Yhr2DrHNjIAvh8FUGcxqDYlovqiPVCiXfKhfUcNnAcpHUjNWGjZi5iUiT3bpV"
    "YKucA0TM7S5QVWR6PkjCFBx7OuGRIzFcazgUwraS/sk6inedzENVRZnc0XL0izNrOKxQauPm3tgfqC2p1SqtxgQk"
    "pLgaTtR7qIPYghHihqe6NAhbLROaYT2/yJxKcJAJag67xn/6b6UgBtNHzcmH9Y7LgFTf86nRYCCqKiOrmODpyFlr"
    "psKjKX3AayLK6OKarcUnrJckOKk3fW14fgWsdg0NsEySspJnygVIta7h17Nn2cClVc+5Fzp5SW9KQBJZt/Wl4voG"
    "oys13gsNjinMmu8y0lhdfLC1kgA1cLBdOoEnj9Sb2hVrfcIPECO8NfwB791rZ19RZ+yLjmrxjH9QrEPo5r0Ovnd2"
    "HQ4OvBit19oqtanRkL2hyOqNkwgP2BzHydZG5CYhu0yGfYFzzkFSOzB1Grnxq9GzE7ypsfxAFmIYDdfRG9gEUCTD"
    "+8ZJAHlG57CAnEgCCqczdMhvAFVUGRAP49xoqBr4bVLNNg2BmiplOoQFPsZ2nOnYxWZrfQBhVIwG1FZZFT5HdxWr"
    "TgweZm/JiCgV25kMEQfrl68rVUECyhTE3CIdELwJze0u0jgrrHfOCrgaK9hdR0eGMch+JXGpTggNzkKIThVqBVCU"
    "NBobodN+YAqFkUGUCUt0Dg5ALNNGdjwq5ixpnXVoevAAqGM0mgtniDlG5Zxx6HcGItlI7G1SyANyAQDVBFZYhFTi"
    "yhkMX1XBBY+9I2/OMucIxhYaAh+EmVg2+ik/eGO0Jzgg1Zw++iJBgEpWcGl10sUqFw6hd+vp+S0xOHIqC5fGrRIR"
    "q0IxTUZtloyDI9aP8kagP6fmk/us9HEos4YEzrEOCk1BWBtkYk6OXKObwHgMfN81sVnpdliHDPKLDnoWGRJGiK4x"
    "PzhjKruu9UYpQYh6ASv0lbe0DOdX6ayAmNEkyFoLv7JoQH6o/+CDoS3xt5wqjSpJhHjtjZr1OCA+Ys5ZDzYx/DL6"
    "iI4eG8dr6bOPA7hnbccc53gbPNJHqzgx5zE6/ImJQKMN3OFYe5mQ9qxv/RyvzY854QpIM/AX2/w8xoluoETnnONt"
    "vowxZjuPjiLbS61vwydCAu4x2tlfz47U3A75zonNmEHgZbzM3pAIaNuJQYbFMY8GaMjjAyv1PNtLf208c87XPlBE"
    "sLVeZ5/HGfWIAwyjodoJwmYMR6HH2SfcVnGnsYbTfPiENP316K8Dr8+K4hpIgdlHBUdgox3jBSk6K0YP9qMBzZzR"
    "X0CQgwTYPXBw1IHCQDLeI1kDG/0E0nqOA5+O8EA+XhFytKO1E5MJlZ4dvNY5zzpeHFkhH9K8sS/npFjIZZ8aM4e/"
    "NGjUx/BjvCHA0QnkBTHwFqGO2Y+jw24T0rNF/oT3/Zx06P8BChhtKw==";

/* ---- helpers (static: this file is linked with every other unit test) ---- */

static uint64_t t_rng(uint64_t *s)
{
	/* xorshift64*: deterministic across libcs, unlike rand(). */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* A latency-like value spread over many magnitudes (1 .. ~6.7e7). */
static int64_t t_value(uint64_t *s)
{
	int mag = (int)(t_rng(s) % 27);

	return 1 + (int64_t)(t_rng(s) % (1ull << mag));
}

static int t_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static struct hdr *t_new(int64_t lowest, int64_t highest, int sigfigs)
{
	struct hdr *h = NULL;

	cr_assert_eq(hdr_init(&h, lowest, highest, sigfigs), 0);
	return h;
}

static void t_assert_same_counts(const struct hdr *a, const struct hdr *b)
{
	cr_assert_eq(a->lowest, b->lowest);
	cr_assert_eq(a->highest, b->highest);
	cr_assert_eq(a->sigfigs, b->sigfigs);
	cr_assert_eq(a->counts_len, b->counts_len);
	cr_assert_eq(a->total_count, b->total_count);
	for (int i = 0; i < a->counts_len; i++)
		cr_assert_eq(hdr_count_at_index(a, i), hdr_count_at_index(b, i),
		             "counts[%d]: %lld != %lld", i, (long long)hdr_count_at_index(a, i),
		             (long long)hdr_count_at_index(b, i));
}

static struct hdr *t_decode(const char *s)
{
	struct hdr *h = NULL;
	int rc = hdr_decode(s, strlen(s), &h);

	cr_assert_eq(rc, 0, "decode failed (%d): %.40s", rc, s);
	return h;
}

static int t_decode_rc(const char *s, size_t len)
{
	struct hdr *h = NULL;
	int rc = hdr_decode(s, len, &h);

	if (rc == 0)
		hdr_free(h);
	else
		cr_assert_null(h, "failed decode must not hand out a histogram");
	return rc;
}

static const char t_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *t_b64_encode(const uint8_t *in, size_t len)
{
	char *out = malloc((len + 2) / 3 * 4 + 1), *p = out;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) |
		             (i + 2 < len ? in[i + 2] : 0);

		*p++ = t_b64[v >> 18];
		*p++ = t_b64[(v >> 12) & 63];
		*p++ = i + 1 < len ? t_b64[(v >> 6) & 63] : '=';
		*p++ = i + 2 < len ? t_b64[v & 63] : '=';
	}
	*p = '\0';
	return out;
}

static size_t t_b64_decode(const char *in, uint8_t *out)
{
	size_t n = 0, len = strlen(in);

	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = 0;
		int pad = 0;

		for (int j = 0; j < 4; j++) {
			const char *c = strchr(t_b64, in[i + j]);

			pad += in[i + j] == '=';
			v = v << 6 | (c && in[i + j] != '=' ? (uint32_t)(c - t_b64) : 0);
		}
		out[n++] = (uint8_t)(v >> 16);
		if (pad < 2)
			out[n++] = (uint8_t)(v >> 8);
		if (pad < 1)
			out[n++] = (uint8_t)v;
	}
	return n;
}

static void t_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void t_be64(uint8_t *p, uint64_t v)
{
	t_be32(p, (uint32_t)(v >> 32));
	t_be32(p + 4, (uint32_t)v);
}

/* Uncompressed V2 encoding written independently of hdr.c, for crafting bad input. */
struct t_v2 {
	uint8_t buf[512];
	size_t len;
};

static void t_v2_header(struct t_v2 *v, int64_t lowest, int64_t highest, int sigfigs)
{
	t_be32(v->buf, 0x1c849313);
	t_be32(v->buf + 4, 0);
	t_be32(v->buf + 8, 0);
	t_be32(v->buf + 12, (uint32_t)sigfigs);
	t_be64(v->buf + 16, (uint64_t)lowest);
	t_be64(v->buf + 24, (uint64_t)highest);
	t_be64(v->buf + 32, 0x3ff0000000000000ull);
	v->len = 40;
}

static void t_v2_count(struct t_v2 *v, int64_t c)
{
	uint64_t u = c < 0 ? ~((uint64_t)c << 1) : (uint64_t)c << 1;
	int n = 0;

	while (n < 8 && u >= 0x80) {
		v->buf[v->len++] = (uint8_t)(u | 0x80);
		u >>= 7;
		n++;
	}
	v->buf[v->len++] = (uint8_t)u;
	t_be32(v->buf + 4, (uint32_t)(v->len - 40));
}

static int t_v2_decode(const struct t_v2 *v)
{
	struct hdr *h = NULL;
	int rc = hdr_decode_v2(v->buf, v->len, &h);

	if (rc == 0)
		hdr_free(h);
	else
		cr_assert_null(h);
	return rc;
}

/* Wrap raw bytes as compressed cookie + length + zlib + base64 (extra bytes may follow). */
static char *t_wrap(const uint8_t *raw, size_t len, const uint8_t *extra, size_t extra_len)
{
	uLongf zlen = compressBound(len);
	uint8_t *buf = malloc(8 + zlen + extra_len);
	char *s;

	cr_assert_eq(compress(buf + 8, &zlen, raw, len), Z_OK);
	if (extra_len)
		memcpy(buf + 8 + zlen, extra, extra_len);
	t_be32(buf, 0x1c849314);
	t_be32(buf + 4, (uint32_t)(zlen + extra_len));
	s = t_b64_encode(buf, 8 + zlen + extra_len);
	free(buf);
	return s;
}

/* ---- geometry ---- */

Test(hdr, init_rejects_bad_arguments)
{
	struct hdr *h = NULL;

	cr_assert_eq(hdr_init(&h, 0, 1000, 3), -EINVAL);
	cr_assert_eq(hdr_init(&h, -1, 1000, 3), -EINVAL);
	cr_assert_eq(hdr_init(&h, 1, 1000, 0), -EINVAL);
	cr_assert_eq(hdr_init(&h, 1, 1000, 6), -EINVAL);
	cr_assert_eq(hdr_init(&h, 10, 19, 3), -EINVAL);
	cr_assert_eq(hdr_init(&h, INT64_MAX, INT64_MAX, 3), -EINVAL);
	cr_assert_eq(hdr_init(NULL, 1, 1000, 3), -EINVAL);
	cr_assert_null(h);
	cr_assert_eq(hdr_init(&h, 1, 2, 3), 0);
	hdr_free(h);
	hdr_free(NULL);
}

Test(hdr, default_layout_matches_hdrhistogram)
{
	struct hdr *h = hdr_new_default();

	cr_assert_eq(h->lowest, 1);
	cr_assert_eq(h->highest, 3600000000LL);
	cr_assert_eq(h->sigfigs, 3);
	cr_assert_eq(h->unit_magnitude, 0);
	cr_assert_eq(h->sub_bucket_count, 2048);
	cr_assert_eq(h->sub_bucket_half_count, 1024);
	cr_assert_eq(h->sub_bucket_half_count_magnitude, 10);
	cr_assert_eq(h->bucket_count, 22);
	cr_assert_eq(h->counts_len, 23552);
	cr_assert_leq(hdr_memory_size(h), 1024, "an empty histogram allocates no counters");
	hdr_free(h);
}

Test(hdr, equivalent_ranges)
{
	struct hdr *h = hdr_new_default();

	/* Unit resolution below 2048, then width 2, 4, 8, ... per doubling. */
	cr_assert_eq(hdr_highest_equivalent(h, 0), 0);
	cr_assert_eq(hdr_highest_equivalent(h, 1000), 1000);
	cr_assert_eq(hdr_highest_equivalent(h, 2047), 2047);
	cr_assert_eq(hdr_lowest_equivalent(h, 2049), 2048);
	cr_assert_eq(hdr_highest_equivalent(h, 2048), 2049);
	cr_assert_eq(hdr_lowest_equivalent(h, 5002), 5000);
	cr_assert_eq(hdr_highest_equivalent(h, 5000), 5003);
	cr_assert_eq(hdr_highest_equivalent(h, 9990), 9991);
	cr_assert(hdr_values_equivalent(h, 5000, 5003));
	cr_assert(!hdr_values_equivalent(h, 5003, 5004));
	/* Precision holds to 3 significant digits all the way up. */
	cr_assert_leq(hdr_highest_equivalent(h, 3600000000LL) -
	                  hdr_lowest_equivalent(h, 3600000000LL),
	              3600000000LL / 1000);
	cr_assert_eq(hdr_highest_equivalent(h, INT64_MAX), INT64_MAX);
	cr_assert_eq(hdr_lowest_equivalent(h, -5), 0);
	hdr_free(h);
}

/* ---- recording and statistics ---- */

Test(hdr, empty_histogram)
{
	struct hdr *h = hdr_new_default();
	struct hdr_iter it;

	cr_assert_eq(hdr_min(h), 0);
	cr_assert_eq(hdr_max(h), 0);
	cr_assert_eq(hdr_value_at_percentile(h, 50), 0);
	cr_assert_float_eq(hdr_mean(h), 0, 1e-12);
	cr_assert_float_eq(hdr_stddev(h), 0, 1e-12);
	hdr_iter_init(&it, h);
	cr_assert(!hdr_iter_next(&it));
	hdr_free(h);
}

Test(hdr, percentiles_of_1_to_10000)
{
	struct hdr *h = hdr_new_default();

	for (int64_t v = 1; v <= 10000; v++)
		hdr_record(h, v);
	cr_assert_eq(h->total_count, 10000);
	cr_assert_eq(hdr_min(h), 1);
	cr_assert_eq(hdr_max(h), 10000);
	cr_assert_float_eq(hdr_mean(h), 5000.5, 1e-9);
	cr_assert_float_eq(hdr_stddev(h), 2886.75, 2886.75 * 1e-3);
	cr_assert_eq(hdr_value_at_percentile(h, 50), hdr_highest_equivalent(h, 5000));
	cr_assert_eq(hdr_value_at_percentile(h, 50), 5003);
	cr_assert_eq(hdr_value_at_percentile(h, 90), hdr_highest_equivalent(h, 9000));
	cr_assert_eq(hdr_value_at_percentile(h, 99), hdr_highest_equivalent(h, 9900));
	cr_assert_eq(hdr_value_at_percentile(h, 99.9), hdr_highest_equivalent(h, 9990));
	cr_assert_eq(hdr_value_at_percentile(h, 10), 1000);
	cr_assert_eq(hdr_value_at_percentile(h, 99.99), 9999);
	/* Rank 10000 is in bucket [10000, 10007]: capped at the recorded max. */
	cr_assert_eq(hdr_value_at_percentile(h, 99.995), 10000);
	cr_assert_eq(hdr_value_at_percentile(h, 100), 10000);
	cr_assert_eq(hdr_value_at_percentile(h, 0), 1);
	cr_assert_eq(hdr_value_at_percentile(h, 0.001), 1);
	cr_assert_eq(hdr_value_at_percentile(h, 250), 10000);
	cr_assert_eq(hdr_value_at_percentile(h, -3), 1);
	hdr_free(h);
}

Test(hdr, percentile_rank_is_not_pushed_up_by_rounding)
{
	struct hdr *h = hdr_new_default();

	/* 99.9 / 100 * 1000 is 999.0000000000001 in doubles; the rank must still be 999. */
	for (int64_t v = 1; v <= 1000; v++)
		hdr_record(h, v);
	cr_assert_eq(hdr_value_at_percentile(h, 99.9), 999);
	cr_assert_eq(hdr_value_at_percentile(h, 50), 500);
	cr_assert_eq(hdr_value_at_percentile(h, 50.05), 501);
	hdr_free(h);
}

static void t_check_against_sorted(size_t n, uint64_t seed)
{
	/* Percentiles in thousandths of a percent, so the exact rank is integer arithmetic. */
	static const int64_t milli[] = { 1,     1000,  10000, 25000, 50000, 50050,
		                         75000, 90000, 99000, 99900, 99990, 99999 };
	int64_t *vals = malloc(n * sizeof(*vals));
	struct hdr *h = hdr_new_default();
	double sum = 0, sq = 0;

	for (size_t i = 0; i < n; i++) {
		vals[i] = t_value(&seed);
		if (i % 997 == 0)
			vals[i] = 5000000000LL; /* beyond highest: recorded as highest */
		hdr_record(h, vals[i]);
		vals[i] = vals[i] > HDR_HIGHEST ? HDR_HIGHEST : vals[i];
		sum += (double)vals[i];
	}
	qsort(vals, n, sizeof(*vals), t_cmp_i64);
	for (size_t k = 0; k < sizeof(milli) / sizeof(milli[0]); k++) {
		int64_t rank = (milli[k] * (int64_t)n + 99999) / 100000;
		int64_t exact = vals[(rank < 1 ? 1 : rank) - 1];
		int64_t got = hdr_value_at_percentile(h, milli[k] / 1000.0);

		cr_assert(hdr_values_equivalent(h, got, exact),
		          "n=%zu p=%.3f: got %lld, exact %lld", n, milli[k] / 1000.0,
		          (long long)got, (long long)exact);
		cr_assert_geq(got, exact);
		cr_assert_leq(got, vals[n - 1]);
	}
	cr_assert_eq(hdr_min(h), vals[0]);
	cr_assert_eq(hdr_max(h), vals[n - 1]);
	cr_assert_float_eq(hdr_mean(h), sum / (double)n, 1e-9 * sum / (double)n);
	for (size_t i = 0; i < n; i++)
		sq += ((double)vals[i] - sum / (double)n) * ((double)vals[i] - sum / (double)n);
	cr_assert_float_eq(hdr_stddev(h), sqrt(sq / (double)n), 1e-3 * sqrt(sq / (double)n));
	hdr_free(h);
	free(vals);
}

Test(hdr, percentiles_match_sorted_array)
{
	t_check_against_sorted(100000, 42);
	t_check_against_sorted(777, 7);
	t_check_against_sorted(1000, 1000);
	t_check_against_sorted(12345, 99);
	t_check_against_sorted(1, 3);
}

Test(hdr, clamps_out_of_range_values)
{
	struct hdr *h = hdr_new_default();

	hdr_record(h, -5);
	cr_assert_eq(hdr_min(h), 0);
	cr_assert_eq(hdr_count_at_value(h, 0), 1);
	hdr_record(h, HDR_HIGHEST * 10);
	hdr_record(h, INT64_MAX);
	cr_assert_eq(hdr_max(h), HDR_HIGHEST);
	cr_assert_eq(hdr_count_at_value(h, HDR_HIGHEST), 2);
	cr_assert_eq(hdr_value_at_percentile(h, 100), HDR_HIGHEST);
	cr_assert_eq(hdr_value_at_percentile(h, 99), HDR_HIGHEST);
	cr_assert_eq(h->total_count, 3);
	hdr_free(h);
}

Test(hdr, record_n)
{
	struct hdr *a = hdr_new_default(), *b = hdr_new_default();

	hdr_record_n(a, 12345, 5);
	for (int i = 0; i < 5; i++)
		hdr_record(b, 12345);
	hdr_record_n(a, 777, 0);
	hdr_record_n(a, 777, -3);
	t_assert_same_counts(a, b);
	cr_assert_float_eq(hdr_mean(a), 12345, 1e-9);
	cr_assert_eq(hdr_min(a), 12345);
	hdr_free(a);
	hdr_free(b);
}

Test(hdr, reset)
{
	struct hdr *h = hdr_new_default();

	for (int64_t v = 1; v < 100000; v += 7)
		hdr_record(h, v);
	hdr_reset(h);
	cr_assert_eq(h->total_count, 0);
	cr_assert_eq(hdr_min(h), 0);
	cr_assert_eq(hdr_max(h), 0);
	cr_assert_float_eq(hdr_mean(h), 0, 1e-12);
	cr_assert_eq(hdr_value_at_percentile(h, 50), 0);
	for (int i = 0; i < h->counts_len; i++)
		cr_assert_eq(hdr_count_at_index(h, i), 0);
	hdr_record(h, 42);
	cr_assert_eq(hdr_min(h), 42);
	cr_assert_eq(hdr_max(h), 42);
	cr_assert_eq(hdr_value_at_percentile(h, 50), 42);
	hdr_free(h);
}

Test(hdr, iterator_visits_every_recorded_bucket)
{
	struct hdr *h = hdr_new_default();
	struct hdr_iter it;
	int64_t total = 0, last = -1;
	int buckets = 0;

	for (int64_t v = 1; v <= 10000; v++)
		hdr_record(h, v);
	hdr_record_n(h, 3000000, 4);
	hdr_iter_init(&it, h);
	while (hdr_iter_next(&it)) {
		cr_assert_gt(it.count, 0);
		cr_assert_gt(it.value_low, last);
		cr_assert_leq(it.value_low, it.value);
		cr_assert(hdr_values_equivalent(h, it.value_low, it.value));
		cr_assert_eq(it.value, hdr_highest_equivalent(h, it.value_low));
		cr_assert_eq(it.count, hdr_count_at_value(h, it.value));
		total += it.count;
		cr_assert_eq(it.cumulative, total);
		last = it.value;
		buckets++;
	}
	cr_assert_eq(total, h->total_count);
	/* 2047 unit buckets, then 1024 of width 2, 1024 of width 4 and 227 of width 8, +1. */
	cr_assert_eq(buckets, 2047 + 1024 + 1024 + 227 + 1);
	cr_assert(!hdr_iter_next(&it));
	hdr_free(h);
}

/* ---- merge ---- */

Test(hdr, merge_equals_recording_into_one)
{
	struct hdr *a = hdr_new_default(), *b = hdr_new_default(), *all = hdr_new_default();
	uint64_t seed = 1234;

	for (int i = 0; i < 50000; i++) {
		int64_t v = t_value(&seed);

		hdr_record(i % 3 ? a : b, v);
		hdr_record(all, v);
	}
	cr_assert_eq(hdr_merge(a, b), 0);
	t_assert_same_counts(a, all);
	cr_assert_eq(hdr_min(a), hdr_min(all));
	cr_assert_eq(hdr_max(a), hdr_max(all));
	cr_assert_float_eq(hdr_mean(a), hdr_mean(all), 1e-9 * hdr_mean(all));
	for (double p = 1; p < 100; p += 7.5)
		cr_assert_eq(hdr_value_at_percentile(a, p), hdr_value_at_percentile(all, p));
	hdr_reset(b);
	cr_assert_eq(hdr_merge(a, b), 0);
	t_assert_same_counts(a, all);
	hdr_free(a);
	hdr_free(b);
	hdr_free(all);
}

Test(hdr, merge_into_itself_doubles)
{
	struct hdr *h = hdr_new_default();

	hdr_record(h, 10);
	hdr_record(h, 20000);
	cr_assert_eq(hdr_merge(h, h), 0);
	cr_assert_eq(h->total_count, 4);
	cr_assert_eq(hdr_count_at_value(h, 20000), 2);
	hdr_free(h);
}

Test(hdr, merge_into_smaller_range_clamps)
{
	struct hdr *dst = t_new(1, 10000, 3), *src = hdr_new_default();

	hdr_record_n(src, 5000, 2);
	hdr_record_n(src, 2000000, 3);
	cr_assert_eq(hdr_merge(dst, src), 3);
	cr_assert_eq(dst->total_count, 5);
	cr_assert_eq(hdr_max(dst), 10000);
	cr_assert_eq(hdr_min(dst), 5000);
	cr_assert_eq(hdr_count_at_value(dst, 5000), 2);
	cr_assert_eq(hdr_count_at_value(dst, 10000), 3);
	cr_assert_eq(hdr_value_at_percentile(dst, 100), 10000);
	hdr_free(dst);
	hdr_free(src);
}

Test(hdr, merge_across_precisions)
{
	struct hdr *dst = hdr_new_default(), *src = t_new(1, 1000000, 2);

	hdr_record(src, 12345);
	hdr_record(src, 3);
	cr_assert_eq(hdr_merge(dst, src), 0);
	cr_assert_eq(dst->total_count, 2);
	/* Re-recorded at the source bucket's lowest equivalent value. */
	cr_assert_eq(hdr_count_at_value(dst, hdr_lowest_equivalent(src, 12345)), 1);
	cr_assert_eq(hdr_count_at_value(dst, 3), 1);
	cr_assert_eq(hdr_max(dst), 12345);
	cr_assert_float_eq(hdr_mean(dst), (12345 + 3) / 2.0, 1e-9);
	hdr_free(dst);
	hdr_free(src);
}

/* ---- encoding ---- */

static void t_roundtrip(struct hdr *h)
{
	struct hdr *d = NULL;
	char *s = NULL;

	cr_assert_eq(hdr_encode(h, &s), 0);
	cr_assert_eq(strncmp(s, "HISTFAA", 7), 0, "%.20s", s);
	cr_assert_eq(hdr_decode(s, strlen(s), &d), 0);
	t_assert_same_counts(h, d);
	if (h->total_count) {
		cr_assert_eq(hdr_min(d), hdr_lowest_equivalent(h, hdr_min(h)));
		cr_assert_eq(hdr_max(d), hdr_highest_equivalent(h, hdr_max(h)));
	}
	free(s);
	hdr_free(d);
}

Test(hdr, roundtrip_default)
{
	struct hdr *h = hdr_new_default();
	uint64_t seed = 99;

	t_roundtrip(h);
	for (int i = 0; i < 100000; i++)
		hdr_record(h, t_value(&seed));
	hdr_record(h, 0);
	hdr_record(h, HDR_HIGHEST);
	t_roundtrip(h);
	hdr_free(h);
}

Test(hdr, roundtrip_other_geometries)
{
	static const struct {
		int64_t lowest, highest;
		int sigfigs;
	} geo[] = { { 1, 2, 1 }, { 20, 1000, 3 }, { 1000, 10000000000LL, 4 }, { 1, 1000, 5 } };

	for (size_t g = 0; g < sizeof(geo) / sizeof(geo[0]); g++) {
		struct hdr *h = t_new(geo[g].lowest, geo[g].highest, geo[g].sigfigs);
		uint64_t seed = g + 1;

		t_roundtrip(h);
		for (int i = 0; i < 5000; i++)
			hdr_record(h, t_value(&seed) % (geo[g].highest + 1));
		t_roundtrip(h);
		hdr_free(h);
	}
}

Test(hdr, roundtrip_huge_counts)
{
	struct hdr *h = hdr_new_default();

	/* Counts that need the 9-byte LEB128 form, whose last byte carries 8 bits. */
	hdr_record_n(h, 1, INT64_MAX / 2);
	hdr_record_n(h, 3000000000LL, INT64_MAX / 2 - 7);
	t_roundtrip(h);
	hdr_free(h);
}

Test(hdr, encode_is_byte_identical_to_hdrhistogram_c)
{
	struct hdr *h = hdr_new_default();
	char *s = NULL;

	hdr_record(h, 3335);
	hdr_record(h, 3108);
	hdr_record(h, 2638);
	hdr_record(h, 2567);
	hdr_record(h, 2470);
	cr_assert_eq(hdr_encode(h, &s), 0);
	cr_assert_str_eq(s, ref_c_five);
	free(s);
	hdr_free(h);
}

Test(hdr, decode_reference_c)
{
	struct hdr *h = t_decode(ref_c_five);

	cr_assert_eq(h->lowest, 1);
	cr_assert_eq(h->highest, 3600000000LL);
	cr_assert_eq(h->sigfigs, 3);
	cr_assert_eq(h->total_count, 5);
	cr_assert_eq(hdr_count_at_value(h, 3335), 1);
	cr_assert_eq(hdr_count_at_value(h, 3108), 1);
	cr_assert_eq(hdr_count_at_value(h, 2638), 1);
	cr_assert_eq(hdr_count_at_value(h, 2567), 1);
	cr_assert_eq(hdr_count_at_value(h, 2470), 1);
	cr_assert_eq(hdr_min(h), 2470);
	cr_assert_eq(hdr_max(h), hdr_highest_equivalent(h, 3335));
	hdr_free(h);
}

Test(hdr, decode_reference_js)
{
	const char *refs[] = { ref_js_42, ref_js_42_legacy };

	for (size_t i = 0; i < 2; i++) {
		struct hdr *h = t_decode(refs[i]);

		cr_assert_eq(h->total_count, 1);
		cr_assert_float_eq(hdr_mean(h), 42, 1e-9);
		cr_assert_eq(hdr_value_at_percentile(h, 50), 42);
		cr_assert_eq(h->lowest, 1);
		cr_assert_eq(h->highest, 2);
		hdr_free(h);
	}
}

Test(hdr, decode_reference_other_parameters)
{
	struct hdr *h = t_decode(ref_go_empty);
	char max[32];

	cr_assert_eq(h->lowest, 20);
	cr_assert_eq(h->highest, 1000);
	cr_assert_eq(h->sigfigs, 3);
	cr_assert_eq(h->total_count, 0);
	hdr_free(h);

	h = t_decode(ref_js_big);
	cr_assert_eq(h->total_count, 10000);
	cr_assert_eq(h->highest, 131071);
	hdr_free(h);

	h = t_decode(ref_jhiccup);
	cr_assert_eq(h->lowest, 20000);
	cr_assert_eq(h->highest, 3600000000000LL);
	cr_assert_eq(h->sigfigs, 2);
	snprintf(max, sizeof(max), "%.3f", (double)hdr_max(h) / 1e6);
	cr_assert_str_eq(max, "2.769");
	hdr_free(h);
}

Test(hdr, decode_reference_java_shifted)
{
	struct hdr *h = t_decode(ref_java_shifted);

	cr_assert_eq(h->total_count, 7);
	cr_assert_eq(hdr_min(h), 4936);
	cr_assert_eq(hdr_max(h), 4939);
	cr_assert_eq(hdr_count_at_value(h, 4936), 7);
	hdr_free(h);
}

/* ---- rejection ---- */

Test(hdr, decode_rejects_garbage)
{
	static const char *bad[] = {
		"",
		"HIST",
		"HISTFAA",
		"HISTFAAA=",
		"not base64 at all!",
		"HISTFAAAAAAA",
		"AAAAAAAA",
		"========",
		"HISTFA==",
		"HI=TFAAA",
		"HISTFAAAAB5\n",
	};
	struct hdr *h = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(t_decode_rc(bad[i], strlen(bad[i])), -EINVAL, "accepted '%s'", bad[i]);
	cr_assert_eq(t_decode_rc(ref_v1, strlen(ref_v1)), -EINVAL);
	cr_assert_eq(t_decode_rc(ref_c_negative_payload, strlen(ref_c_negative_payload)), -EINVAL);
	cr_assert_eq(hdr_decode(NULL, 4, &h), -EINVAL);
	cr_assert_eq(hdr_decode(ref_js_42, strlen(ref_js_42), NULL), -EINVAL);
	cr_assert_eq(t_decode_rc("HISTFAAAAB542pNp\0SzMwMDAxAABzFCaEUoz2X+AMIKZAEARAtM=", 52),
	             -EINVAL);
}

Test(hdr, decode_rejects_every_truncation)
{
	struct hdr *h = hdr_new_default();
	char *s = NULL;

	for (int64_t v = 1; v < 5000000; v = v * 3 / 2 + 1)
		hdr_record(h, v);
	cr_assert_eq(hdr_encode(h, &s), 0);
	for (size_t len = 0; len < strlen(s); len++)
		cr_assert_eq(t_decode_rc(s, len), -EINVAL, "accepted a %zu-char prefix", len);
	cr_assert_eq(t_decode_rc(s, strlen(s)), 0);
	free(s);
	hdr_free(h);
}

/* Decode a copy of bin with one bit flipped; returns the rc, and on success the histogram. */
static int t_decode_flipped(uint8_t *bin, size_t n, size_t byte, int bit, struct hdr **out)
{
	char *s;
	int rc;

	bin[byte] ^= (uint8_t)(1u << bit);
	s = t_b64_encode(bin, n);
	bin[byte] ^= (uint8_t)(1u << bit);
	*out = NULL;
	rc = hdr_decode(s, strlen(s), out);
	free(s);
	if (rc)
		cr_assert_null(*out);
	return rc;
}

Test(hdr, decode_rejects_bit_flips)
{
	struct hdr *ref = t_decode(ref_c_five), *h;
	uint8_t bin[128];
	size_t n = t_b64_decode(ref_c_five, bin);
	int accepted = 0;

	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			int rc = t_decode_flipped(bin, n, i, bit, &h);

			if (i < 8 && !(i == 3 && bit >= 4)) {
				/* Cookie and length: always fatal (but the cookie's word-size
				 * nibble is ignored, as by every HdrHistogram reader). */
				cr_assert_eq(rc, -EINVAL, "flip of byte %zu bit %d accepted", i,
				             bit);
				continue;
			}
			cr_assert(rc == 0 || rc == -EINVAL);
			if (rc)
				continue;
			/* Accepted zlib flips must inflate to the same bytes (Adler-32 holds),
			 * e.g. a different distance copying identical bytes. */
			t_assert_same_counts(ref, h);
			hdr_free(h);
			accepted++;
		}
	}
	cr_assert_lt(accepted, 16, "%d of %zu flips accepted", accepted, n * 8);
	hdr_free(ref);
}

Test(hdr, decode_rejects_each_corrupted_character)
{
	char s[sizeof(ref_c_five)];

	for (size_t i = 0; i < strlen(ref_c_five); i++) {
		memcpy(s, ref_c_five, sizeof(s));
		s[i] = s[i] == '!' ? '?' : '!';
		cr_assert_eq(t_decode_rc(s, strlen(s)), -EINVAL);
	}
}

Test(hdr, decode_v2_crafted_headers)
{
	struct t_v2 v;

	t_v2_header(&v, 1, 3600000000LL, 3);
	t_v2_count(&v, 5);
	cr_assert_eq(t_v2_decode(&v), 0);
	v.buf[3] = 0x03; /* bare base cookie: still V2 */
	cr_assert_eq(t_v2_decode(&v), 0);
	v.buf[3] = 0x04; /* the compressed cookie is not an encoding cookie */
	cr_assert_eq(t_v2_decode(&v), -EINVAL);

	t_v2_header(&v, 0, 1000, 3);
	cr_assert_eq(t_v2_decode(&v), -EINVAL);
	t_v2_header(&v, -4, 1000, 3);
	cr_assert_eq(t_v2_decode(&v), -EINVAL);
	t_v2_header(&v, 1, 1000, 0);
	cr_assert_eq(t_v2_decode(&v), -EINVAL);
	t_v2_header(&v, 1, 1000, 6);
	cr_assert_eq(t_v2_decode(&v), -EINVAL);
	t_v2_header(&v, 1, 1000, -1);
	cr_assert_eq(t_v2_decode(&v), -EINVAL);
	t_v2_header(&v, 1000, 1999, 3);
	cr_assert_eq(t_v2_decode(&v), -EINVAL);
	t_v2_header(&v, INT64_MAX, -1, 3);
	cr_assert_eq(t_v2_decode(&v), -EINVAL);
	t_v2_header(&v, 1LL << 50, INT64_MAX, 5); /* unit + sub-bucket magnitude > 61 */
	cr_assert_eq(t_v2_decode(&v), -EINVAL);
	/* The widest legal geometry is still under the memory cap. */
	t_v2_header(&v, 1, INT64_MAX, 5);
	cr_assert_eq(t_v2_decode(&v), 0);
	cr_assert_eq(hdr_decode_v2(v.buf, 39, &(struct hdr *){ NULL }), -EINVAL);
	cr_assert_eq(hdr_decode_v2(NULL, 40, &(struct hdr *){ NULL }), -EINVAL);
}

Test(hdr, decode_v2_crafted_payloads)
{
	struct t_v2 v;
	struct hdr *h = NULL;

	t_v2_header(&v, 1, 1000, 3); /* counts_len 2048 */
	t_v2_count(&v, -2047);
	t_v2_count(&v, 9);
	cr_assert_eq(hdr_decode_v2(v.buf, v.len, &h), 0);
	cr_assert_eq(hdr_count_at_value(h, 2047), 9);
	hdr_free(h);

	t_v2_count(&v, 1); /* one count past the end of the array */
	cr_assert_eq(t_v2_decode(&v), -EINVAL);

	t_v2_header(&v, 1, 1000, 3);
	t_v2_count(&v, -2049); /* zero run past the end */
	cr_assert_eq(t_v2_decode(&v), -EINVAL);

	t_v2_header(&v, 1, 1000, 3);
	t_v2_count(&v, INT64_MIN); /* the most negative run length */
	cr_assert_eq(t_v2_decode(&v), -EINVAL);

	t_v2_header(&v, 1, 1000, 3);
	t_v2_count(&v, INT64_MAX);
	t_v2_count(&v, 1); /* total count overflows */
	cr_assert_eq(t_v2_decode(&v), -EINVAL);

	t_v2_header(&v, 1, 1000, 3);
	t_v2_count(&v, 0); /* Java writes a lone zero count as 0, not -1 */
	t_v2_count(&v, 3);
	cr_assert_eq(hdr_decode_v2(v.buf, v.len, &h), 0);
	cr_assert_eq(hdr_count_at_value(h, 1), 3);
	hdr_free(h);

	t_v2_header(&v, 1, 1000, 3);
	t_v2_count(&v, 300);
	v.len--; /* LEB128 continuation byte with nothing after it */
	t_be32(v.buf + 4, (uint32_t)(v.len - 40));
	cr_assert_eq(t_v2_decode(&v), -EINVAL);

	t_v2_header(&v, 1, 1000, 3);
	t_v2_count(&v, 1);
	t_be32(v.buf + 4, 2); /* payload length beyond the data */
	cr_assert_eq(t_v2_decode(&v), -EINVAL);
	t_be32(v.buf + 4, 0); /* ... and short of it */
	cr_assert_eq(t_v2_decode(&v), -EINVAL);
	t_be32(v.buf + 4, 0x80000000u);
	cr_assert_eq(t_v2_decode(&v), -EINVAL);
}

Test(hdr, decode_rejects_bad_compression_framing)
{
	struct t_v2 v;
	uint8_t junk[1] = { 0 };
	char *s;

	t_v2_header(&v, 1, 1000, 3);
	t_v2_count(&v, 7);
	s = t_wrap(v.buf, v.len, NULL, 0);
	cr_assert_eq(t_decode_rc(s, strlen(s)), 0);
	free(s);

	s = t_wrap(v.buf, v.len, junk, 1); /* bytes after the zlib stream */
	cr_assert_eq(t_decode_rc(s, strlen(s)), -EINVAL);
	free(s);

	v.buf[v.len++] = 0x02; /* zlib holds more than the V2 payload length says */
	s = t_wrap(v.buf, v.len, NULL, 0);
	cr_assert_eq(t_decode_rc(s, strlen(s)), -EINVAL);
	free(s);

	v.len -= 2; /* ... or less */
	s = t_wrap(v.buf, v.len, NULL, 0);
	cr_assert_eq(t_decode_rc(s, strlen(s)), -EINVAL);
	free(s);

	s = t_wrap(v.buf, 20, NULL, 0); /* not even a whole header */
	cr_assert_eq(t_decode_rc(s, strlen(s)), -EINVAL);
	free(s);
}
