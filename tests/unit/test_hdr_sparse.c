/* test_hdr_sparse.c: the histogram's counters live in chunks allocated where values land
 * (issue #10): the same percentiles, merges and V2 encodings as the dense array it replaced
 * (golden values below were produced by that implementation, commit 5c00183's hdr.c, on the
 * same pseudo-random data), and a cost that follows the data. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/hdr.h"

/* xorshift64, the generator the golden values were made with */
static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct golden {
	int seed;
	long long p50, p90, p99, p9999, count;
	const char *encoding;
};

static const struct golden golden[] = {
	{ 1, 27023, 219021311, 2136997887, 3575644159, 20000,
	  "HISTFAAAF3d4nFVbu45kyXHdjIzMvLduVVd190xvz2o1lAhisFgMFjQIQh4BGoJA0CAEQQY/"
	  "QN8hg9AHkAINQoYMGfoCfYcsQZ8hSzYzzjmR1TOz29NdN28+4nHiRET2t7/7w/NXX/3i3Vf8U/VviS//84f/"
	  "+OoX/8cP/vPp/7f/9j/57+2P9r/2b/av5Xfl38u/lH8ufyq/L/9V/um3v/r1r3/7D7/8u1/+/W9+9Zt//NvvP//"
	  "w6fvv/+Ynnz9++vzDT3/y3Xc//vSzlx//1fc///"
	  "z506fv3n18vb2c+un15enp6fWH8zev784Pt9u7+On2+nS+PX28vXv5+O3Ly+315XY+b0+"
	  "nb749f3w9v7w8vX5ze3h47W4n66eHJ7PtwbeH863fbk8Pp6ftfDo/"
	  "PPStPzw9zG+3+fK2nbaHsm39dOoPJz+7v2z4/NznLm7z8el8OpXt7Kfet+127n7eTrfzi/"
	  "ft9DDH+YPf5rD5aE5i3ee686sVc9ssXvHNysnN/eZbd/zZHk5zh17mX5vj5tPNsdU+t+Hz7fnP/"
	  "NxLnyfAoF794Tx/sPn//HKej30u0ud/XjZMeppTObdg8W2JB/"
	  "O7uYmYv9vNTzHTnN0wvMwnZ5uvnGOfN8PcsXZIz2Or84Pim8deYp/xQZ+f9Hmweao+JzjFAU/"
	  "zQS+xdY9Rc0wMLSGDEEPf51R1bmirW4mJqsXTmLRgfOxkDuhxXDyJ7ccJ8H2Jb+"
	  "Y250nNKj8y47vFWu7M41HpFIlhjhhh3vDERmyeEo9p8AW7nOIoPF/IL1abOzEMjq8Y4xhWbY+TzuGYuc6pC/"
	  "bnWDOWNyqNC8z59vkW9ARFxWobjjQnqBjs3NRcsc4BPXbf8e78mQfxFIpLqDVlYta8xajOH7vx4JTfXDRMj+"
	  "9g95DY2bjR0F7hs7k8jOhkkM8c1rBsrBQHGTjvdcoag7muSQ945qHZOgdUPChT5Mbj4r94Vl0fFf4LpcZBoLz570"
	  "FFDmgSs+5xCKq4+CUMx+dEPVbBCgfNYWs8Y4wsFNXAoeJll73gvxpymH/"
	  "2eJFWgv00WaH5Tp3EULwZa8VsIYz5wRFbiBemTOaG7OIQSjVaZsGwH2EnreOIcYgRG4JvDO644W8IJZ5wh7Fyk9n"
	  "GDrxyLNbbcfjGXT5KKlOJc/"
	  "3DvWFBx4w6q1HCsd4+"
	  "vxuc2DUVJBDjpVG60hx0pVihr3hx7r7CoqnReD821SHfueT0gNAHV6U3lVTyEnycrUk78bTZs+"
	  "N97HhKcG4vjJWjL7IreQbWwm4wb2wjVMf55l9u6eihKfwU9tmg5WG2dNO0F3g2jzZ852yUuY7HfcYpiZ0wvwtn5V"
	  "mch8Kmw5DmXgalF+/hfGHOAXJctsr6i2ykYK+YR08IRk07IIyY9M+d9LC9ErLu83CpYE5tPj/"
	  "eDdY7eBT8GdxpDDBCZ5cwuvSxCwHjh/"
	  "C8kh6xc91GJBkh7+"
	  "VglXiIcxJ8m2yaHl9jTnkuBjcaYDUaPjTW505H6Barb7WbAAUGMuUauEuLxuwDOjqgMohlV6CoJrlz+gmiA+"
	  "eshIuRgYBHo54bkG8OPJxnBSSMQJwOKMBpQxnETMoaK9BEFJkq7X0A4lNqRmFQqsMxuMqf/"
	  "ELX1gQ1LLXqHVKGCAR+DT2HVTWOqnEmF17UsDavdGX6+"
	  "y4mEeKeEpjqqjL9ZlzQBJHAV0KvIjFPGGj2BiQpAQSn6aWu6Gl3QK8uo67Q89X3uyFB5oRQ6Rw24Q7ULARSiTK8H"
	  "0hU6StL6WX5AtUcthbLze1DphEdXZvkSjC1HnFodH6AV46MaYEOc5otLO8CnBFAjRCm9uW0tZLMpCakMtBPaMRTY"
	  "qF3AXhL7KJnhGWLdCj4OcmJ5sLwHnqM42CJaxhH2hFPgoHSoKwWkm1wGsgDA+"
	  "LZAfOYL27304YYMJtnFJEjYTpiWfGMzsSkhG2zBUSBY3CiC+VwkA3s9HSa5BQsDISMrWzalVQv31GkXHZS/"
	  "dnJY+"
	  "j5TrwsMF6Ex7mkU7oRgSZaKOCXZHYEkwH72vkoKBkANfgKIHM4zbymBMQP3OjRnPCiEFZIBmERwVl3cGw6xBex7b"
	  "B04bJ0Bv25YkX6wO6MWrRsnqUS7hUVPLgCHDv4T4M+"
	  "hSUIu8B5WUa4qldCbpVP0ogO8NmWuxRNUfgpJnsPKV7JHQb0RtQMJMSuAasA02cI37mMV8ZUUiLoZKSH43gSlNcV"
	  "9+O73oDmlFjZGmEIqEDULcH65MF3/"
	  "B9rWyRgOmqVoGnBlfqD9shSLXnj4Qx55Q18QKjNycRr5ifSklYBLdD+E4BqEsrK89LlKqloSX+"
	  "VoMt2gM3ESrCgRwOiXzJkuIjUfZWwpMm7JPUO/"
	  "pCc15SmAHN2bZfajWkuRtM6CIQc1sQpkldBWS22izkHtdiXO9QeawKeK+"
	  "2gwOEr6NmOZbsIMQJg6zzJPGEcjRG8knJLpmJ5l4jYVDQc/xLgRXIVq0nRzO4wxUXkg/"
	  "QJCVgmKdK4LG5a20F4uIeYcPzdA5y04m6LYxsllClHWheDABMBIhfN98r4AYn4+/"
	  "naiYCkfFQhoGHaJpZAawzhIDZRXBEhWpoMN5EUATg300PxEmF2YzJskksIotH4Bl+"
	  "tpEGxCVdexSOCbMXxXekm8HYT2CHKwXPLXd4ECxMPRTglkahiPILLiPAHGFfTEaiWw+"
	  "wNBy2KQvLJSUPcKSrlM41WEtuOlAFu8qgcTDyLuxhERZIc8q29ay9hdRBL2IDojacvDQEmqHTwe2kqZBJBeX58dU"
	  "+UIZB4FZKKskJewraS2RuiZVAJwH5zJk8VjFv+8EVMtSTeNOT8YRPjpJhih0kZGXEOJkrYW+"
	  "8KDYG1FfS0WWdWARiKQ6FGlGSMuggp14ChRBnmF4MJopJUhoYmGDAxwyIhVlc2BnaGkCrsXQBEs7l4z0xeWPWekY"
	  "iWWnq6iiBLQahmxWY5lCsQNlpdI534axlTBRg5c4+"
	  "WSBAW6L7mM5G0GW0GvX2YRpNa74lQF0sqhgIBjCWCm1dLe0ulUG10sF055EGQDYJHzrmrkIW6iMohxT4QdllwgK9"
	  "EKgtZAvw8SwzlDXgeMKz47hGSc+SWQthpLJsTK/"
	  "YshGX1QdTNyVNGQFDbBvDPhVVDZgNWR1giVidsF9KrDXwpXX+"
	  "Fc0YiWMSBwCBbZzrYmQLP7R0d37jQGhpqCtSx7nXq+"
	  "pKhPrEQUqzKDA4XxWNKzIPhUGGRF5pyyfVbaOTLkgMO4YuA+8wmCS+"
	  "L70J6c6esJQGr4aiVmBY6a84EPRhcL8m0d5NbrPImcM1T+"
	  "jhxNWVWB5fbAMg0pJbG15i1BQwS6fnAxTHo6DEpknUIsSDwNfqup0LKEpzpACPS64hlZWkhExgVH3xRYSVKyHpLY"
	  "hOjBYYeoAwFLAaT1yz+ZQQq3RedQVqCs3acpTNdtY1JwyCF6DDgBMqRniUOizxI+f5CnZauItrZ7kEqdJcwgU/"
	  "AN505L/IUYRxLATV5pGV8KQsOWXzaqVhMMQlcQRSlsyjW9ZLFJdJsKpIApIBN69zD/"
	  "XNeeMek1cqDshpkNMXiXtZehYcEYQaCQEB7lJHQGg7WX1haufR6P2rpNfdrSZqigg4/"
	  "I+"
	  "ir7IRgg70MFVbtXqjDOpYwYU4vXakc4QU4hSqRIWNIAsCyMOs57lJ0pENVKftATyDeYGWcuUFWWaJiUOQumm9stm"
	  "x6iNY0fteYUMxzd8Ax6pbIp3d7UxYlzWiZzI7U/"
	  "iMfq8ajcQVgfEQOuFR9ZMJZ3kiOFCQr3octktjhI8Drwpoxi3JZ12NeRfoak0RzIeoACT0ZZVqKc+"
	  "9FTgzy0jJhKcznYLJDbiR+hv4HRsraTKk+"
	  "rKsnAjtdnuWIsGH6W2dKbJ2KtK0ir2btFWVkeXFVRaLca19IQpiw5gHkJVaVjWp1r4yPyrUyI2PJJ2yG9ksUa28I"
	  "XJYUh7JFbGb0cndWasBSrcLjnYvuEHSWr+kW/"
	  "Q4lttBBjtJFPtLrOYugL0RxvfNQktFJRzwVBs643wGnmhhQJKZTIE2UoMNwCnIvGILvWYkqUkuebXEhhh7wkURuZ"
	  "j/Too51rA4Ib6qPNO3qi8KIckwYXlMhUNNVwlsRrd/2zMuN1AoQkCKb/"
	  "INiCDJJtHaeHUrY6gqgaTaXzkojNwTaFC9sSzU9K8QMxg46W8m2RENoQPWUuNoQbGR3UqmDTNKeWM0fKBPi2WBOw"
	  "BomjlG4XbYAULTz7GUQ71QEzeCTbZgkFukesPCOIvOgu1dygI4tlRWS0Stlc4WkfhcEvyckROMwCx9WljXi/"
	  "2ZqytAOSu+V4T8IZfsStZrvGRxYjJ+PT2Lhw9REiYpqyPBrUR94W/"
	  "aHkpn2zKWkqN2EuCTM2a6A4R0p2ayBZ6tJCysroF0MwkJ+"
	  "UDPRl59HMdKzslLQauXMmHRnjKeNi0vlFG98ezB6ZOC9mJK2XsSupGiz62aqMmKWk6n0pUQZimR2692zNOeSNqth"
	  "MJBOpdXlH/RGoqRfVqlxI5QyG7bMhJV8fVGNMpWYXfGebUTUvlf5Qbnioeog7V0xHC8d1EtHwS5jjjhIlgii/"
	  "utMN10PSU1NjJXUAyZRMm32Z0aKw7InTEY6RdCznNvhIC0PF7UnR35KDIPvZEpOjrypGuRMG2l6JFuPMrc0/"
	  "ellUnr4d1TFyBVKvpYAaNlttAxXAkRtGk4/qPDOJhPqXEaTaSjjuXy/"
	  "gRZ3+"
	  "QG7NlYErumEhJvgQZ0WAVaSVULWGQZzmRD1c2cGo7xOFjoDXrR1DMjReSZ0Zk8M0sskjCppOrnKXWgYhJMiVEVyV"
	  "o3bVmHF1RJveZRMh1ja6CoJssTGPicSapm9y89Q5IZgMwu7CBpRKwP/COrSUYHYogbBVg/"
	  "YcE9kEUZiyoShsaIyunoAjkWaGLSd7R+"
	  "WSY2kHryHHW4x38JsHeLI9KPQbxKuSobtKDMor3YagwPGBkK4ZM7mBNRZnTiHkHKwBkem58p5K9KA6WJZMYebj8V"
	  "eqAJmtke2B+nNDVYf3t6tpMzFDhFaWsJIkvv7UeoqrWL/"
	  "G9vCYcAIGpSgKP1QYfLK7WH3cZMlkTxptwjLwBQMce6eDUdQiyyMxUpd1qHnmf6rKsm1D0sUfGt9Dqsn/"
	  "TBTgS5O3kFnezCf6CczVw+Y9EW8Lkq7hBMNHrDMbLDKqsIruQCTO4UW2YgihxDSB5vbd49o2cxPje2n+"
	  "KfvjAgm9GD3S5JjPRKpB4N3yaRQxZGu0B3xCyWnAmuMxztfvvQVobMMqysPJa/"
	  "LGJNyoLraXAomlrSXbMxVnsncNe/ZZFhoMlHYO5hSQJrLgJ0uxhQDTVYkBol/"
	  "hk4G1Z7XLVx2zzx4JIkaNOBKROKeVSiJ4relqdiq9IBx8WJSXuMwxvgkbM5AkKmrOua0RSWZuqfnuhgS++"
	  "qsltldmJ6cnhdA5hDQjgO5VLDQrto53BIBqdMVwdfyD5pA9HPLZJ/"
	  "u6s5LQnFVrioM8EYHtSONwOmvmmHcdbndXc5RxttNAbylLIpu1/"
	  "DRnneT1DwDjHVlalwzUJ7tOe9xXjzZlTlnaBXEFOa+jQFO8ejSLaOw8K+"
	  "zeU9P6a4bPbWvTnVKkeS4KAUtKSyv9167s81rrr7DSqVcaKh0acaZw9hytkdvm6lwXPwDVHLJonh5Y2G8TUjHDqR"
	  "E3WKw6KMSgSVbYTNRRKxBf7SdmqUBuYgGqGQq8TLyBENCPyx7WmVZsJscpa7LKx3pUmEFbEuJRctOpGFRb7mx+"
	  "JbmNd9aNuQNNQQr69ZeExtzUW3vC2K8blH25I0FEUs6na9OUNpq9V2sqklQa/"
	  "WWpEvCDlvbSjp7o4XUlIPf24BNTTZu1S0hqDHiEvICGauriLgaQKxjoRf4wRhTaubrEKhIgbOOxZ2xX2vXCbe+"
	  "7mq4GpDFPVVXZYYtK13Moa6u3EOE2tkIJvLm+eepto0SIogrCORluvlYtz9Ubnu/"
	  "7I4uQou3dWGq5BUb8rKvVy9PH1g+ZSHWWTi4WpaOXXivCuzemY90f2PzsgaCp+"
	  "UZaSadFm46jbImFIEYaihvCaCt9L6JXUlEhJHCBACpW66fIq9ZYLqkFm2l6mtsNgRN+YHUvXj/"
	  "XdkRyJ3kkRauSgCNCEaMKykDbLWy+pUltSQv13VJsun+gqfvIKQJHFoCgbRG9SkTrSouJoNaaIA6Hy4VTaQ+"
	  "cGxHNgUX3E0NuGaqUpJIMnxsaZraqKpnlE11XiFk6YQVcoSDvCvFOvvFVnHzEO4j9qkahUCOkoonJrKDU5VIrm5V"
	  "2lEXCVn5R+WdgYUtJua291XfR0xkrs9NxBVpQcrOHmhCjTWyvMjrO/"
	  "WxQwTX2HZz3jq7xxfQU+"
	  "AVrpF0X0X8oHJMkFeaQDoU3A65C3SDEBKckld6WPgNClJx8Vzsgh5DDSftYtbNpNIX62EBiYkF+"
	  "BJKQz0vgfCG61A82bPinfdV/"
	  "MCUC6BMKYGvjLj0HJ+"
	  "26umRpqBdTE3u4UkKm5ON0jPWnST1XXQt9bjf76eZsauFWxNFWdX8YVP1JhgtbGFbBFacmjij8rvupUdlqMXxiyv"
	  "vrlk55bWHRlpGYzhhsq6WE7krd9OPtOeRnNIkkMWAGbF0GFPhqzC5g4A6PKzzygKuiB3s0DC1dG2twd6nNg8S2l2"
	  "u3ffUS2GhJKtNKwO2zJeKZ1/"
	  "J8rTcABqCA7vcfZkY64isq6NjS4bDIO3qhWQs9rIA3OVManAOVVdR7RbPGaq5b6q3FWNmqqIK2cqWQJ01cs9qlKI"
	  "VDDp8W64d6a0nVuSdYsHpSt5tXeZU7QMNUUI9frOju27v1Xuc2N9gMsnr/YZj0VVgH/"
	  "ypJTUPMFOPK8syaHeAk8q48XVXKZNORBHrRnDUkZiCNjbY0PBYwELJoRuGxDOgHWURSilwtmNreAvnAprvwXTvZy"
	  "Q665ZRud9+41HQc0ICvsM4h6sST/q+25tG3AAV2USl1i/"
	  "eMCV95N0DmSQMBWGGv1YBDNl0RbIommDegxcXeIMPaQuuYOUvmahJRu4ZTsAOnsLCkEH4KnB7bhaNCdd1KSKGG2u"
	  "fyqNT0cMUzlnQd3BmOfR89nVfd5GYC2Tt7ZIpLWeyZOHyI4WC1fJcydSRubcCS0eCiSRNnNHz4o2xiK8UJC2vqcm"
	  "LhWZEUSu1eAYk3R/I33igAYjA2mpnK/"
	  "waLwG8LZUruLKssKnwScPMfs+zLQRSKwqhvV+VG4GHuK4j1rwW2JYPJHmhLcQ5Opv9+"
	  "N0nMfyZg3Eu31NnuquOGD/"
	  "UA6Y3RL8L91UHIG3ntQXGDxKPAik0E5ln1zmzJ+5Iv+IVYOue+"
	  "2iW90Eg4V6WWzXPAGiRBt8twRif9GjktkVl0WowkCaSKKYN7LpAKryThPsrCG3ZwmVZGMK+wmZn7n2l/"
	  "ulWxuQK93K0G12TtmQoWewrXc1npiuNuXKSJctiHaMEb+"
	  "GK4WzXtKKCvo6P9IqqIy8MdMlL6ZmJ9a3rtiXjptI619WlvHaL/m8M/"
	  "oBJtrLqMmonWclINXV3pd1x78OvMAbVx3gN9sPiNZZFuerpOUW5SgMvQ/"
	  "AERVRPPEu8xkqnqslt3b6IMVfVGwb9AWqd+6hIYdnuZcC8Wsn1YZaV6aCqHsX6yrSAwa4CljY/"
	  "gX6z+wWuA1Ty0NRD1/"
	  "ZLomreX1WyO3D0Z9fvLxnbJqHzPU3teb2RWpwzPVPScbQL+"
	  "eRgB6PqQoHJ41IgP7K8rqbBVG1NMtpMvwTguq4ssNd+"
	  "P2iiOfUxU1V6kimuJWEOqV0tSwKM33LqZRrCaL83szSq5N0IkYnRTXbCa7nNpBNVB7O6wxSKtj3QdtDMvPPsmUMP"
	  "ThdqiGL4+7crI1EzohcvAnQgpdi1/"
	  "UWyAXAqFj9MJkEk6GyF2srYtGtenGAPeQWa2Ph72lT0olEDmUxhC5A7KDW2eVk1ZUqhCwNNzw7dTaxRJxmel8L+"
	  "EkOjjHZFTQE3Tt6Ds1/FZb6GzfIee0YL+OQRv22gG5ZXV7Wms569GsqII/"
	  "zFiMfwMDqbPyJja6oq4QiXOVsjSVKU4+2UxiLXdEVI5T1dlUDUkAvJLK90/yn9daHBC8/5qHwe/"
	  "1zSuNhx8mP97lCxPwPA/t1Y" },
	{ 2, 22527, 222822399, 2302672895, 3584032767, 20000,
	  "HISTFAAAF314nF1by45kSVJtNzd3vzdu3IzMyqqspKdnVGq1Sq1WL0AajUazaBBCrBCaFQtW8yEsWSIWPWiWLBAr"
	  "lrMYIcRnIL6DT8DtnGMeCfXIqrgPf9jj2DEzj6/+/rfPX3zxw798wV9V/5b48d+//dcv/vR/eOHH53/Y/8v/"
	  "w39nP9rv7Q/27+Xfyj+Xfyp/92P5x/Kf5Td/87d//Rd/+Zuf//qXf/ZXf/6rX//w9dffffv991//8ItvX3/2x7/"
	  "49mefv/vm8/dff/75L1+/++bT99/+6stPD6/b48vr+3dfXd99fvfp5fXl8/bll+/"
	  "fv356+OrycP30vj88vnt4eXl5fH19//ry7uXh/cv19fGbr14f3j8+PvYXu1wuj9etXx/mj/nr/"
	  "eXhcvXNe796t3f+0K/z12XbHrZtu/j8vF0vfXsX/52XHq9X6/HC9WEr22N/6JdH3y4Ptj3YZet2nS/N/"
	  "18fL9fLJZ5+/"
	  "+7y5fbu+rj5fPHxaqX7pVu3Lebc5ic3j7+lm3n8vuCzlbmiOeL87POdedNKPNR965fuc54+n5hjlM0wBn7YHHD+"
	  "nFeuPq+Yzz3Y1S7ztXh4i7lLzBO/LvPlOdUce86yxTLmi71v8bp7ucwdz8/bFv/MSxq7xALmk/PlS7/"
	  "MZ6+x7VhzPORbcb7uc57NOOTcRomB9blYjLnPJ2Lq2Nd8N5ZSrcZkPieoc8h+KZCDYVpr5m3+W+d7BW/"
	  "F03P7xdu8NF+YT1x7vBG7q/"
	  "NBi6veQjQhPKsbbm2QpM11zFX2OqefF0InMZrFHFhTSIeyGnE7Ls6557De+"
	  "cRU3ny7czYbfCHkG3NZucRTPuaTvVeodP7psdLO9RfMYbGEKc0+lxQSmU/"
	  "HT6hprsW4ih5TG00kHoNkMM+UvmOnc9yNa447cy9Oo4rdYSPxtEHYdQ5xcawcO7M2zS4UD+FBhX2Oi+m5bscefZ+"
	  "rDMG6n/Pujnuhhbg5L9gRQ8zf8WZoCrraYbwYBfeg54pLoR/sOwQzwqqww8q17hgnrkOozeAsofmdRoC/"
	  "XETsYeCdOd4RiwlD4bV4qvYYp82d7fOZSvlOpfF9rMGwNCsbnm3OvWOiDvuJSZ2jxR8opHB5WO8cek5dOWHxn9KM"
	  "5qQthm79iFVwL1M0N9PkcRuSGJCQ5jyMe5xvOxYIO7MwNFyeVg8XoLixoBQGDBuj7h4LCkvFxQYdhGLnSsJKpEFp"
	  "ueXsHXbrqbFbPBIXvEiVvWKHGxQ/"
	  "LYgf53bb3NboWDbWA4HGbtuca0DEMalBU7YWPTcbKh3ccAEOSKyOMc7wfFp51YLnEofkX7XQaZWQ+"
	  "YBTtYDNCjSNyVo4VN/1KK0hfrU+sNr41LHHGlZEYU7H6y3ECLzBymIFm/"
	  "ZXAUhPwJoBZcyxemrBAArcVbyFV6GUCllY7GCJidIYIW1uCNohbuyxhzPdkark3ACj+"
	  "cKmO56TLbXOH6fH9gYAFDcab7YUhcMuvFha03CZ+lzrtnxM4i+SITd5wFmwEUghjOScuLLz/"
	  "lg+FM9peB9ABwfiAQqwT1qxE9ELcR/"
	  "wrY354FNHGMwH+AamRrzp3DVxOiTbLZcrQ6u0FaAXbgBpGkwDooH8ZbCBgocHDNC60/"
	  "8giB567XgfOzrd7rgQQSLhbofLAtSKxghDm5oNL2lLnwEwlIO01mKzDdMXuQKGgCfvDnTyg+Io6RPOAYTbh+"
	  "xq8IGe6FV6I5o7lVG1DYwSWgmxzrGpfUoJIUcabwIq5zWntzijVsXmgKdTcyFOWH1qBVLX+"
	  "pqmbTDm2OBITI1ARGxC2AsTrITL4U0WDP2NCDPhZlRbzUhB0/Tad3oZnZkOTIGHjbpiUHV5FZy/"
	  "6mkOUxnOm0AWr2wC4XyV3lQFjo3KDNufC6gIPTHELuXzFvxGZunyhbQ/"
	  "Wgp8sOaCigQDp61ORdDIsKodIY9bVUCZHzdiTozjz50De6oFP1rYODkT1hD8J1gVdtbBVzyIyiQMhMmcmuwmXHKs"
	  "GA3YgqIqQGQ4lyH1HM6l0BCrPc+/"
	  "HxOQZfZca02HlN9xlx1G7sBnDApMHQIVeIcTauodJ29TAYPRuwE5iEBmIJ+"
	  "gnXa3C0Zrl8gbbZ843eINLvSWhkoLioA3nDNAYKChA54mB5V6IZeCwKuAYWSTB1U5gEShYtkyQ90eVk9tRzzrdYE"
	  "aOFa904ZY2I0MAyYEEspbu7ytppU3bGuT6G9JIsCABS7lHnBhwU8OgkuDwyIaWe3oLoqpEOIY3SlAGg1N+"
	  "EkrrXjjIJYm5zGgIiLFAcV6f2MHzy6un05anQ4FaOs1Q+"
	  "3hilJythsldI9gm8tjq0YxIPXdbCp5tle66b4oH6kdo90zvGOAEBeaPoOWaXbuqREtQc3vhLYs6rfJdRJrq4ZoiP"
	  "hdaES+sKK6VtrHiuYV4N3f3qdDTnHsYXGl6wrcRilE08829eKWIMb1UXPcl4MvpeVAYwOrJ/"
	  "11SifylNoT0uREI91LplG6BB+wvVsaUuGFtAW4yRJUsSQk9NBBDCFgH9wRbt3oA/"
	  "Rq6IkIshuXXOTOxT4q7KS4wQTS6WqXMr1QwZbhuxLhKudv6dtIVGU1888GBu7gaItNwq+"
	  "HEHJfgEB1OXnHVEtvtKUOnn2KVMyoi5h7JIacZCNP+sj8OPKDHm4Eg47IePbnfk8k5wOnUwrVZaZzhR0+5+"
	  "IP9zBp2pBhxImjWHY8iewquYmUhFhbkKGsUDlcyi6eKM6KR1EIJ8sRwwgb3kV5qqyChsC80j64JSleLJhWpqyxia"
	  "TNPe2xyBDmBWh1C8rmitPh7Qe1KyMVWZu/"
	  "Dv9IgFZQAS056Lq7091hEiwyBFA20fzdXNGlAXYgrnAh35PXWGIO5czEpIvShIye3KDbEMuNDtvBBgtBXRGkU2ZK"
	  "RCmwD+"
	  "Kc4gJMLQiKCWf0EiTtQJbe5FE1or4jXwYUlAT9SePkbfTIux9kCaLQwby5uEY3xuU7TsneRrq2i6ZwQ4VZfQJwVW"
	  "xjDhAJmIBTaS8ssJLvx77wv925D1dow9gQmKwpzHzcUwLPSQJ+"
	  "wzZiwGCdSDNYPCBy7wGfpL1DywnL78VVzAmi1g9Lo/XQ/"
	  "IJGDgzE7Fho9YWdNdG8CKC6vALk3RQfwtUX6W751gzcFeyrdhoJI2KzkjkQY37tGqeSUe9Gn6QDjW4kpoidnUUP1"
	  "ghRAjkyAx2cgnUwBJ25mb2b8m/"
	  "4hMCDNQv6urEINED+YVyHiHDwpbb2ApBtMjHFirmkbgkw8R6i7q1HeuiAwZPAyzx+"
	  "SuOJCq0ihWlKSqAoGYIynRK1RQ0BI+"
	  "s78sbm6Y0dEbUuzEDh5I54VCzqJhjgIKyjmLEiiko0ygB6AhbWEgWpW4YVVh60mTa9WVg75daVohC1UcMEoDYZdx"
	  "NULvDelA1xBTA6H4vIlQTJlgbZyTbqivIG5gJHPnpGBMuQTDtVHBH9joV2AgRqggtthHthPi7rz+"
	  "wvbpxAHZfr70x8F3uDSaqWoBjXlNIWyzqF30lVVZGV2GAAr7oZRxkhf8yGrSkX2JkadlUIaE6sltFG003538okgx"
	  "rxzLSAqM6XlM244jpdJ6zS2kaLdBVDqkpP2MpOcjSUK9QIII21g62uQkq/"
	  "kyI3FVczAJakqisyw7KL8AEstCRHMWXE4fFJmOfye2ZCg6HPmGiBI0BvXZya0LqDQRXiELjNYqA13fPwNaCk2MQh"
	  "S+DvDR/"
	  "mtBduewAJokzWQa9F9TzA31UWZeSO3XCoiLg75wenNSyT4jWWP1VjuSdEgp6SpvcEpYyVfPldnDVstCGsi6DI52U"
	  "e+aNlBYwVvoM1FmNBwICYJs+oyJGyRuNvSmolCXOSMSKfS/"
	  "u0ypKOqBoGi7vyyCR8MFPlHPDeEFC4AaIeIypNPIqcDXms/"
	  "HEpz5NjJaaKHCTvKJ0sKT7c5hgQuGVFpNjCYnJ3xBACiPgWi+KeZYs56lNMu9LU4VrNDvUN9CucfmuehXETrxim+"
	  "j5FGFUez3r3VHE31kHBrRprdUiJo9I7F7VhyMLoUpMZYp29+L2Wi3Kqqh+"
	  "F7YaQaldty5jGkem0lVo0z3wOL0VxdVUHGDF27ZsEBlwjgPyjKaG0BTCdAT9ZKjWgtIWtDH5Iu2ioHe0aofaiJA6"
	  "/wJ476piZ3VeWUbjwqDiGfAg3e/"
	  "JyE8eYGisiN3CdAIcz07MCWoWqQqginLhmN4p3i1AmZNUTlJiEI1IrvGHa5pkHrhaSComxmY6wxzRL9uaWCbsx3W"
	  "sqC9FEuA6qFaz+yZTDfxCzVeJU4YUD5LpXxSuCCVl8R5oQku1MtWtGZrtHEHhWZw/KGV48/"
	  "Xm6T0IzYX9RoYgKtnJyQxcUWSQL6QpY6Io5hmSTsYpQHDJcxbaaFkhDO2AAMkFW3yxSEHDUll67G6mkcgBnYltJq"
	  "ee/"
	  "h99bMyj+"
	  "hfmgfpKTF1scYEfXUXdgLtEVtl1pYmoPK4ELFJDvlbiWNBtfoGdsiCWWM9L5rQ9CXnb8dmey0BAVjPwu6cVunIfG"
	  "QBA1QX1xBpAOzz8xICvlSQ3AbFazqTHYjLt5E/"
	  "S2NNxDTYcoh2TyCdDvNNNVMTG2O70RN1ny6s3S9NEBQkTqqJmtiBjivwXkd0YB5v8Li0vGJfDgpogTEFF9OaYiKH"
	  "urtLXgJX43aq+rgyS0x/"
	  "jDFv8mVVTuKp6LfbjEgtF2enGku2pjLzxx1bem33Uzxfrs7Cp4ZCIMgI98zrYsg6cJl5wMkBrXNyBDoq8oX1WVXs"
	  "nMwJiOThVaUywqHUA1Oxmrq5/0Sop+ML5HPiBCpPfm+lEKoDCOhR4yZCq9rTKcBRxBPI2df0/"
	  "gq2zdl8XzSADB2cKkGTuyH+"
	  "08ZmAipKNneBbVZsaG53bKSO2wcGMGr92SeUDXk9k8h427uj7PVnPRRbQM4r4tFYR/"
	  "Xls0I4+07GBpYW9qECxML9NrO5I4v3Pbfga63iWDLdz0xsgbg55o9pyVUMT9rqqHZc9OL4HrqYrHJJA0YgU+"
	  "LYCXQEuVojHRgxQ/"
	  "MjKt1IgBLz1M5pf0xCupS+X0mzp+MVS2R5A9NmcQb6j+qMSYVnqKlEuNLISJT2UVTfW9pBJRoXcC4+"
	  "VQcc8YpXYZkGWB9FDQQwAGBQxepxCqMGS2+meKtPo/"
	  "qWebCsiwmoXOUHUQmY0OC46HuMk+sIm5ikUX5XRpoEWYXOUFPZ8uzBjjhcYm54HM+"
	  "qQliPKvNCWGf5Kx4VPYwG0F3t7Dc3qGIZrmJtgNLCBTzwMsTiKbRkUb6ZnUoXvOspiqwEqdSaFDYXtXg5WRS0gOx"
	  "a9QV034WlOcrpgs2524soGw6mwIrZDNZ/jeCQF11UtdxrQOfBj+33d2GbbFBODh/"
	  "9cRbJ1kGJZ9rUxdhLNtbahkJ2O1ZERHV+"
	  "WrKoDvqm6heiiWEStgVhxjUVCqRyuP5JuryKkRswNeWSoYhDlkxSYNDZ12UUsnYfQUFSZJZKTpRUUIHsw7u5E0ZS"
	  "6UsbS9QbWBRE+IwXKaYqqh+"
	  "UfxxCEgJyCx0Ka8CC8hpoMoG9m689BcSjQhTBDA1sIurlzRXSO33zfmIAohd4UHJsbZF/"
	  "FHKq7gdET6WaooincweYCBLLixFlOytgx7yYqCWGoWiKtqqUihhzu7nM1FwNXPRn9BTG3VjzI/"
	  "L0qRV6DwhJZtLFYrD2KLwZIdoMzEkiXNTxRIEi9sarYs1TjpBc0aDtayca2HQkSlLx9jM1xol9VXkRYsaHexerah"
	  "oYhbpFQsUNv9pB025jjQcEM/"
	  "G8WQqBpN0syVZa0huwlKYRaGq6mgDhOrbIjbO2E2FtcFIi4rCTsbKg1hFpFQt6QCKZ08vcG0duUeY5Esy0I08eke"
	  "oImbZaUUOvRgtIHGp1c9I/"
	  "6egsVJdbIu17Lmkl6ABfckcCsTGM5OVU1lr+NbnlEqxca4yz2hPgmK3skGxKtUhOAcOELJeI1qY4+"
	  "ztjULVgqGXOxYZNuP+dApEtZ1isV0OszbyoflnCk0gq0T6+KZQ1lmnGF6E/"
	  "uyNtAoT7RJ4q2DdUe+"
	  "KMDQZp1IlcaDF6efH9F5VJvFkyVq35T4MrhhwsKY41TtdIGwLHqZROyqE5NUyyR9dZVcSsa4wioxj8UwZUiPZ46P"
	  "WsZQxTYLZ4XiFpSZuhMl82DnwcBGojHZeF/nnrKrhaNbOTeMui/"
	  "B4J+dbQgdoQzmzg62ouLuGZrDSXompmMtz1ZTLZEtom6s4gOWCt86RSTDqFFXrqJ9bw8tEK+"
	  "SIKgWmakvjg2IdqJguWjKngLLkF2Vl/"
	  "ahIqMJN6nuiiaAK9SzOkTyWdniQbGnZw5ek5a6Sv4JCSM1Ky42cM1JwHtmW2n/"
	  "zhM1lhko06ReyTcD35i+"
	  "Ea4QSejYB4uulrxfPQuyjfuBGuVcO1NZpDauwyZkH0qfClE0DXmHMOjaR5K41bCjnnasrueudTTA2Hn0jNuqoMgM"
	  "0hksM2H38v/"
	  "ciCfshpTuCap+"
	  "4xMbWkgMB32VhttC3Ph7swwbIjsbVJCbMy0MNfqnTMey2LiLFTkrHGI5jAKMtIyGCHDzoU25uOuSnvcM5VkT6FE/"
	  "SuBzOv4uUKpZYcvUbgv2oaNd6KNQ8qJX8WjglXq3oPimo3siYpbHhUZaIIU0TSjK4asVD5F1HG/"
	  "WTsmEy9ZcDY807CQj025O5ueVJFX5IQp0thpvpAZ5tJysFCWj4ei+"
	  "9SqGgY3sDNX0jWwAVMUyci01a2Pk8y3oSmsm9j1cncAFIOQAeLRzdyp/tpRb1cG4Hc1WnCal5/"
	  "q9H0cXR4rAk+ZLKPEGz7LIgNVEqKpgyOZgikfG+0RunjqymufuwTozuCBUHrFsxSEk+qcyDM/"
	  "MTMRUQJKS4TGmhcfqfPKEPfOhjfUb8ezO7Hl1VPhSVmh4YimphKIjq/"
	  "0SPDrN2tThRZnXkbehiJU4oJ8fAUhxVaUWKskT1ViR6yeSAXbEqoCjiLCIpqvti/"
	  "q9lSyYVdXRe9NZGuWtzi8XqA3v7Av7+t5NIQ0gijbhaIcNfrDMQNiSScTFbx4GYoUykpiji+"
	  "6pvonkMBB9I9skypR1pCvT5mOhJnNx35B/2Cq5gAmHVrYio8igpKRxV2/"
	  "uQAhbUFzvtBOc0T6acjCawBnCHK7wmteJeZbptDIUSNnL6kA56zygYUmB4z0cy5hPddSmJezhxe7WSWK9+"
	  "jFFLVLaI/"
	  "lnEKPDWzZccTRUp66wSeAh8gHQ+J6OqfJkMXIhX3BMj2Pb53AePrD8MkHlXThFNt5Bgj+"
	  "YGvp5RihOmpDZZW4EROkZkJWZLQTHsR7zpDcsIu+"
	  "EGrRdW7ZTFuKa9K04VDMRbhmtdeIidJTfq1GNofCtm9J7cUvjofqk7EKnqaUwiS055kRpHMzxbHYQhE86agBtH3d"
	  "z4kmKPnKFON/"
	  "KugLzgoYzg6Z6Cm7cU6ixNswKrr4hp9ggL1nWL12D9jtPxhxEESmLXx8htNQN2AzTTedmnKMHPWGPN9iA8VwezbH"
	  "Zmy9ZwIYb/RdbdBE8W99I4vGDBEBoEzr6aFostaAtOE8csbLU6fKlC7OrzrpBpyoEJ+f0rGvoS3/"
	  "1rtWS4VzJVAWNy4Cgg54NEotv8vBiM9XoPUuexkOnKttCtXtEjp/"
	  "qKxAnkUoleNN3DxEHRp6cK4rged5V5RMmdTq0N3+fKJq4js3kQZGsjOjbdsWyw9Ikdy7P1TEH3fcYFuz/"
	  "2UqWh6MuGlP9EVkJeGm8e3bTlwju9m9Zd4VETxzMyBhXwSlP0Q6nqT2tU5jiIkMHJe8cfFe3LzgxD+"
	  "BI4IcVHYMIN0Ily1lk4tlde9uNZNnQeNKLkQcFqIGcAkgLdB1Opl7CSbF00SRTdkKrONijiaFIRtivdgQKHQeRFH"
	  "ZGtBjxqZvn6achjCYsGooQrqjDdFBmOXRKdV5lU7+lQ6etUh9GJ77BMnR2D8uBce067MK4zsT79J/QcpuJQh/"
	  "2hsQ/"
	  "QU27qYR0Zr2KLDgxqigiNP+TUNJPgLFPXpLGeEs+bawp27MXhZNhOEITH56nfRVCkUo+PD8+"
	  "fz6bvu7DYZqxl4bzExGpVv4yJ7gxOlc/+M24Z0z8lOjO8+JPlq1HGni/KROX4cT4p9z4GUczKw/mRI3I/"
	  "hdxHt2y" },
	{ 3, 26143, 226754559, 2138046463, 3590324223, 20000,
	  "HISTFAAAF3R4nFVbu64tx3FlV1d3z+zZs/"
	  "d58F5ekhe0YBCEQAiEzMiBACk0DAWKBEOhv0WBAmfKGDhy4C9wrK9QrEih4U9w11qrep97H+fsM9PT012PVauq+"
	  "nz8459fP/vs18dn/FP1vcSXv/75vz779f/xwn+8/n37X/9T+4v9xX6yv9lP5Y/lT+U/y0/lf8p/z7//9odf/"
	  "vtvfv/bf/7XH//wu3/5/W9/9+N3P3z38Vc/n19//vHjV//4/ttvf/j2F7/8/uM3P/7s++9/"
	  "8dUP76+X724fbtvt9rQ9XT989f728vnT0/sPH25P/eXl2j/cPjxd+sfLy/"
	  "X28vLN+9vT5z972T58+PB0ffn41dM3t/5yvfj7vl39YtvT1m+9X/"
	  "zWr33zy3bzy8X7HHqd3610u1y2rc8xn2+X60u/9G3brv1ym5/myMvNLt163y5zxNN88DI/"
	  "+3Xr19u1324Xj6Hb9XZ52m5Xv86pLpuVzbbiPp9zn/9tvtkM/7zPuz5vzTeWbZsf/"
	  "NLLfOV8i5f5uff59HzS5+h4MiYoZuaXeXtOa3MobnpcjAnjw3xifvfN53bjuc3iBfOJ+bItllFiom1emJfm4/"
	  "Oel+uc9zJfiWli9n4r23wOE3msZD4Wi5kiidXPXc2Z5v2O9851z++"
	  "bx4DrXPqUNVbgZQp9fsOKrHk1LLUY32wlXjY/TQltdd4JeVQMmBvdcD/+9+o25sW58oYrschm2PWIh+LTfHDD/"
	  "i0GFpvzzMcabhnGchxFWL3ON8b8826NL9v8IbYV03t8jSliKn4uMaRBdDH73FLcDSnUKZ5+KXhLjJxzx4x97n0+"
	  "VSHfWGOoL9YRG+0xEAsr2DWXiXFxoc53bN5zBfv83vGMY5+QnNGMSuwY+iiajIvgavBg7Jx7nR+"
	  "bpRlVo13OvztkVSAXmFHsOrRVoLgCgXS9IC5TixVCNkx+"
	  "xL3T7ng7pooHYG9TCVhusQFdhSlOY8CPMUPcHLjP6UrXHDFmXpjCaZAE1rgbJ4xLOaKE6EYsFXPyouENnD/"
	  "0ME3G8bNjE9XPtZaNs9g7LXt+g71hh3hcD92hK1hF7boHG6vO61ij4/"
	  "IOU51DqwyoSi8e0pqyol4O3JVGzKlyxzYq3BpXdtiwH9qPh4Lw4N1aPDsXuMOxhjR/j/"
	  "GQUacgWm4GK4l3y1JKKuWMnUxBNViDUXoh5HkltjRsh6wbLK/E9HOmsBAYBHXhoS/"
	  "6dogAKxix2I7RHnJqXILEG07qsnvjH/"
	  "olzb9icN4eWn7vOy0Nj4TU9nj3nPzsY37HcuUDabY1lgjxHOlyTUJIMcRjc8To6f6QfTpVvMvv8fr5cUDoNVBlyL"
	  "R3r7l+"
	  "Prvb4ca1wXErl1u1CX7vIz2m00Fi40ClKZdnhwfJDZym1t6or9ICAVPxYK9UvQkQqBTLjVrs5m4hoN5orrnNMDrA"
	  "LGeSE0GBtAfgh6SEtcw794gWo09gxBhMRWXu9AKYCX48Yp6uH1Psc93hACcdTM5tTRieI7GoY6qWNhkLDbeattTD"
	  "egiHdEA5t9HA9pREke3HZLDmktcJOjX8JxCnwyKrNOmF/+WEstu+tgXI5Jprl4RhEolXGu38C3nu0lqs1/"
	  "FIoy4kqIBbOkYKaSmo4vEw20p3i0Ed4u4YFK5HnyLcwOo4AVDfu7yrwmT5QyC0n7biXbx+"
	  "4ohCRNU2DQbILcSFUM8dG9fCJ5Q59tq61NbmFSqPFoNLsfaxaVZJN0IH4JhrZoSe/"
	  "59turk9M3QjmntGntj6zvEICwHoelVjMPLCpbpkGc7uAxZcAaS10xCqZNYWUgv37EwzeRsNBi8a9c7gMuc9sGdnb"
	  "Ij7d8eKBxmHSW4hbwp+C4PqDysa+NqomGBKDFZx45lbdtnDiR+"
	  "fI0gEFrQYOhwPeqWGmiuQVS60LI8t3BVR2CJE7whZLgiS78QIgK1LBJ32hb2FZISZ4i2IHMHjKiIxQnOY6gBSxqO"
	  "dAdcZwwnpdAZLtG4kbYWSijDpckQa/"
	  "2BEDZzHxYC1mImECwGz9jS2WApBlOTNh9cMB4rhh+"
	  "E6APqMFbfkcCYznw8NwCWNSaSzwXXlVjI92IJCFvXd4xL8aKo6WRAoY8KfiQZ5WLmsAviMYMT5yL5IMqiAhGbdnS"
	  "bUuUvS3aE4KkpmR2eIrLSAWM/8fMpYtShFZKP4wfsqTETq/"
	  "sSQCqxLmgCaPDBddl6pF4kenPhIPa5YBDYP9+"
	  "A60uzozsFAvcgj4GU0gRnhaKyMhQBrMAMv6YxE6fnhmUvPRQB6EGMpILw0ac10gzDHnmHLYcJBXvaMHQR0T/"
	  "mCUxGYwuyIGgFCCNBW5J14Ybx6AtmMlHTrCrMjMa7WktZZJgRFKN5TqvVhA4VcpYN50CVoxQUcpMSLUh96mnSyFx"
	  "CeEYIHz2lYMJ2WcXcp2p1xUBgp6yDtRq7GgAEM5lotI9Zcw0n23YH2JDQngKQT2Jqb4l3MR0MVz25UdRPzCPyIFF"
	  "hKCJX4gdc1wQ8s/gxRISRCZFx/"
	  "PywDLoICtAoyFJFgM5qCcIfuVDPYUg6eWyajVxoasDGWLwhv6Ddz3aGX3gTmNX50MTEMIf9VNKHDLjQgwE903Dtv"
	  "j9R6TOzPPdLdmjjOVwh6GHOHveXMlfjdBYfx8JBhLgSp8kipTjpqjpQQ2jPlocYY1MQaVqwMoKmLq4iTDktWy/"
	  "grdCwIHGAIZErcbgdhYcCRB2CbBXy90ronkBGgcbcj1dT4yMUczyMrOyAJJWR+yB48hUm1dU/ubKToRZkB8p/"
	  "ASWDts2XaNKkZtbLztpyVFKNJTZYRPURXEF1WkJAE5vNRo4gpYp6msLoIutPQ5uV3YOtzlr2LAIUzwDCYPYPwZ5m"
	  "kCftAlsT1MSDWbcnnD7EnpV5KkH1eTwje0yinre7CDuYAB4Xp6bVV7tCl43QdZKnvQDmR3bJUspM7w6zIy3dLQUn"
	  "t+"
	  "xuqvpJ3jTLyj9ilMzGN15MrKhxgGQYViB3WzR60qSD56DDYzDCc8S1Dl2IUyTQ8Plm8KXdTEORs9iXrTesf5yHhA"
	  "zEne9J9p3lIymK7TfjicA6aCHQUZa+DiwthW+anBuAGJ0zMpXAG0Tzerwx/"
	  "MkXsD2WGCNYs9IAnynsYfCWC4iJmBQgw6JDusgBZljPMwoB2z5qFEnkZp6Y7UesYpiT5JD8t+"
	  "XYkz3OTu4gTYyiwJ9EI/"
	  "BYoXYR8iZVYkfuKmfCluEZXZu0BVQKRiKXwBDrunDPvGb70jmZZdTJiwQDHxWNRj9yTzvPtLaGENm5IdUuysYzhl"
	  "Nx+VfkhbHt6kN+BT3igiFn5SfLFZ3ffiby82SgmvlDkefdiaaiymUR5/"
	  "d1VR6giJGU5G8xUxdk+MmkOhcER6PQYOLwkQ690TKbKFCoFxkR67n8D3nTFDFrYeEPoWNHEZCKLJJTO/"
	  "JaCFf2XhTE7Kumea0R7oMa8D7ScoLM7K6x7VJeztjSArt0UIggELi6yi3xiWWFzHSW1KKlIsKh0Q7RzHZeM5FyFZ"
	  "2a61LhbGjtwLOI04HqPdGirkKpr+8O/"
	  "sCwWkZDA4jbRq50kDngRVCbQuFfiX0Y1rybU7EkBTaL01NAndZV0ZDjj6W3VewyIg4JClxU5gK1Hqm5lrdFJ2Bo4"
	  "GIocQw/"
	  "Fqhltml8IB4EPSFmUbSCRdVVSVVAPypTFh3iZ6a7xMzfR7GHs9uALC9EOmeTJYBWA7wsKk8ogUhF1gAJE3XRqFjy"
	  "OZIco9lnWlddf4QiUzJZKlOLbQ+Qw6SQByRX7p6kiiws9WV1lcHXQcj+SWa9180/"
	  "rPcuM1eXWhj5PAO5pwg9orXMzzFM5jSu/"
	  "N9aBwth6tdQ0FL9nQnYQvNRGeJd1g+6M7YfYXvA6BJ+dYLl0yn+53WKquIhhhX3QD70ls/"
	  "SMiwtgLf27rNQbKfOg6FYhFNjtQhe2mPh1kXoafhDLw1RohSmghzB9+"
	  "Eym5mIme0LxfJE8fBgTVYZIJJcKLfHdYXFhyGHDqH5PFQCNsiLvUaivUpBSa0gCHDbGnXrVKk/"
	  "Rrg8ZrRpcRNbMMGzpF4+"
	  "dQNKuqM36WDx3cusbS9QqJtNromTHpQwUMJwyUhsi3tPPRQnrIiVcEPtwDH8FWWJRxYYF51U4YIk0a/"
	  "7MBR5lPUQJxIaIJJO8ZihgwU81oLC84MJsi7WcZTFy2DWZaUwT62ISSooosaqumhGQGYcSwSpDCvsBztWMAkHi7N"
	  "WYjzAZn2IjGo8OgHUA/nAtp5u8vwd6otYTJYCG9NNXioGQgWcjV4/"
	  "ANRd+"
	  "vDV7L6oMVln08eAtBZ3SRpJf0l0gMxgWUhuh1YP3cmBvnua2kts9sS60D1f2sillxH6854uyKKpCAPlIlA8CHhxt"
	  "k6RV4TIHBbkrHBgBgwEuAtQBLw4nMQZ879juBhDdWGDvLBVlgcJLUrKEVk+"
	  "AZF55yv9Dk0mNlIHTmVxmYewSmZOkH4oyEA9rD/"
	  "PjBd7XEqBkTasqD8F3lxkhA3S6KfQPkFOCCzYJ78v6AqnG4elbwONV0S80xXT2t5Q7CxgXeV6F3hQaeQbA0ln2nl"
	  "78KD4ZKqEk6dSWc7dMvOubQGSmgBYjDtXG2lslAI63Kn9v0Snc0yzvYo/"
	  "K04IEe1bQMkunevdVA3Ymy76iiQuI2GdlgVeJz744DgyourPSHLredT6gSu07qQbpKb2+"
	  "JsJmsHzTxA74hhE4L42uUlRdCWgk5Wz3k9z4QBntkd+"
	  "CaKqcjjr8pN0oa7EmizotWSSJHxhQWeBWkhP3qHEJOxqCsZQj+uokUSmIOXQbSzAKtrF4Jy+"
	  "KpLOxlWB0QvEE5HmxsDvichdnbIqsy4xIsCgwlnQajWqYMJaRlcG6C8yzMkYhg/"
	  "W84WiCbLXTG02Y5Vpjipw5DkWWMZ4pBjMD4IvYZTgZwzPNDGF/mHt7SDJ7tUfPyTNGEoeZKcjw5Ajd/"
	  "a1keXAEOXmsK44YRAo2QeCkrPP0gbhTXZU5GlEyJ9UQdlN4x7rPnnmGrSRQ4EAhVVYJ2sNsG5dTsi65y3UsmdNDi"
	  "N7RQh4pMQFaV25kKG1Y8ccTwbQjJIfkXORcdjogSzabfFGQuIP8RyUGtoukNjallQPAo7P54ywEs+F+"
	  "Iq6JRRVQBjAtkFeC6MmCc3owjkiUbWedH4eHkKmmXS2urhbNXcY8IeLZEIRSTzBYoZ1ChWA7iA7Ceg9GvTSWHqjc"
	  "wouSJmo9TxzFtrqkB+"
	  "xtSCjUr6BUgNudaziXFSfri6YpptlUIovBuwkl2Rl3hgIJ3EXHsg4FVpPlXUvDKpmKe4Y8FsdF9c3JXCyb60PvKC"
	  "iBdqXxRY1HaPGeoIHiVjhHB0BYE+LRPmOHmyILzWKAjrolr9VhipYrlNGqKA+1N6OSa/oxm4i06cIIJM5nJQ/"
	  "h0C/"
	  "QfHX1JpVskf13H4v5EiDGtmoBbBqqIC++W5N9xRydfZc3fCF44ekjPXbV1QmBr+7+"
	  "Ftoen1zPcM163jMuGuuHTqjoSZCCLSqAMvITcU/"
	  "ZstBw5D0XV2BkYPcqCQX6eOhrWpHJpeWwQUg+"
	  "2fyOiR2He6Iy21nbDfHHVZ1TqYmje5g5jzdEZnmodFizAcqNqvcNW0Jmk2bbElvyyIecTkkCauW9ynCyvoxn3wFp"
	  "zjytRNcSigRNVHq603dMxIeQKdOUuWIFtavqEjY3TCBjKvgxzBd/"
	  "LDx9rnbJjkcmCYU0bRmMajPOHLqwrchOSFljY7YNeekpdwXV0Ch5aQfOfCEpKEZnQOTaezaMVfudSNRwtqumhpd7"
	  "n56QLwiXQ2GCwRLicOknEFiCCtzS+adT4LRQtS6VD0p6au9ZDaJNZRl/"
	  "G8q8H1gO8wNNRvbL1UQ2uPvgoadiLF3BZ3dnp3FFYVw+WFUGRE2D7ehucF2Z+"
	  "zNnZBeGRrObeCoO4KHgB2bBU0wgi9n7AVzJe7LnVJQxJFmQ8/I03yZQkXxWcwtELjhbWpM808UQmXRVLU/"
	  "VK7A01lR8NeKKLRYstgyza4ot8iUXDWjqDShYG4+sZaZt4t2spdNoCf1k3UzV9TYR0iiS0rA9Dzaw/"
	  "nguIXnUn1Cou4ASTNKGAzug3o4ckwSq8DMR7ZC3lFWiVz+aFrfzR51NGEmccIZISik6vuvKyTv62hhIu/"
	  "AV4YSxO7uBVDHgA5AmvTGq7GmfhHBBRBVymNqDNVko81Sxq+T6jGQZqDsPA/"
	  "NHzzM8c6UbmGO8MQTUmRVnr3KzpMt1pbTAriikMKwW1r5M1RGLcweF+"
	  "Ts4PIb0PNubZM0WY4ajRg7AOHeXC48siCqIBJgOdScyeFFTh6QZ7UtlfHl6hEn6wd513NCBJYZkVKAfhB63siEX3"
	  "G1FoPh6t2H5kA58KkdvYkOHbBYdnz25W81ujUryHp0VT0jEKfM8z6NU/"
	  "tDBM8TDhO8qOfGkRi6qZLWbJ5URRLpAYDJAVbOT+"
	  "Z443Os6JZ6bhmJ26pIMx3V6eTfVevNU2nzHNqTXxAamCu2TkJQMxTVLU9FF6oZJZGoaX6eC2AuuyYCAIThdTaGpx"
	  "khrPBZRAcKF9WwPgSY6uqJ+8T1OgEjVAIOjC1bo15lvJCaGIlwZEnfaEjo7nSfIdbKWWFIQmUoeGYUKOLSRJc/"
	  "wmPRfptsXBSa9qoorYL9yYXmhIqXS5aFKZBAiVwn0ULIXx9efheZJbWMD2wBdZXng1dhDJAZWN9WeChMVobIrFtk"
	  "boVcxJzaPGYOaUsjVN6c0QRC66aAXY2WhQZEMS5xLXSwLvZrKSp1nG2AfVY3oymN33OqXWOhrZzGVLx8658jgr6D"
	  "w6Hl10+kitL4v+KoztuGWW13RSa1g9Ldalg4XDlChafms6tijVKXGF9/aUO6JeNb12wzK3HCuXJ2YPFbA/"
	  "rOfCVSVSlgnHAvOgGMtzKvR5cGW3nEu9PqzBWpZhqGDdorWcfinesugifyDYc7VG3GWVHSewFvGNdpBtKMRJg4ra"
	  "wPvqFMuylUIiJu9PKhE5YGUqAVbHlSJE8BtoQbsqq8ieLX8jRLP3xra82QuTz+k3yK4yw1R16NTuq/"
	  "W1soLkdqwjg/"
	  "nQxxXZaIJD6hsHfmQejIxdlIixFcfGa5j9lfEPyKCZ1OcSf0dIcgVj+6WPT2WbHDok4Olk5IV1kJc8Lo1yV+"
	  "ItQ6ogTs3HKvciVw6ipypnSJ0WGq2NCmbA0G/"
	  "KB9CgncgDnNgEAH1OizTcEd8d5IBpiut123RPyM2hmTy6BHtIHMXcSywEjI+"
	  "tvt8GaXqKqzmxdmh5MHJ1xiPuvp16tLwbD1spaKnrGwsdQ/"
	  "pDZaeWQ4NVoyU1RjOxX2jSj7yZDspG5yOv+Wl7rTkc/"
	  "BESy+Wh+M9SyV6rSnvGwp01hUFKh521Uw9uaHxl1dMwbbaKvyD9THFWd1xysUUag+"
	  "oPtSstpfXFFYe1ErulkQd19yJKvv2yCvYf4kYN5jpHusiq2d7atX5W0e7oMbVIjUUD3aegyQ1Xu09bPbkYQeyHh6"
	  "UBcnIrnyqDWhjtjqNj0GIIzyhkmdu8vc+GPqdbzVkKXeyTjTFT8sOMstFp3BQpMlW5WAoRCAyySmFeeucLRnoQ/"
	  "dWcEz8VHzcNySV0x9OnLTd3pxnYauBZYIRXWE6N4741CQc3HYXu1qnCbymKHm2QiU3WDn8r+"
	  "vwDWAp6zVv7dPFOvKvMe14NVZU2U+m7/EQDT4daSDDMhHE/QNZ2bOKG4ptWTLhjKrEMYSAiMepMXUtQgsbRPR1/"
	  "PjsevnjHCv7Z0UWOW+8KujE/M9MxYuo/"
	  "xzZj4dNmFhCTdElUbSxfotQfuUsN2XJZpBs0uWdnTvHrweWlYX0Z+pfvdJniZsnrOEp2IjLNJJhmxIK5MD+"
	  "MKBqK79dh6SIIbtJ8guB6oN/xuGMw1XebmgH8VcuRqpJJ94qMlQkqM/"
	  "oD4M6MGwiRHbKUFBRcIaZSt6hxX9K3i0UqKKJeEFI/R9o+p/8etdc+xeGExXoC71zZv/"
	  "Fv8xFokivM4Jt+VlD3zj89+u4HcTknSS66pDKuyZOPMsjG55pBMGRXEflpsqqpbPgvB6/"
	  "A9iWMcaBX9w+mD8WPzkKYfprhu8vnb9kBKb7BefWy+46pxVP/z/0lNyb" },
	{ 4, 22111, 204734463, 2162163711, 3586129919, 20000,
	  "HISTFAAAF1p4nFVbu45kyXHdjIzMvFm3qmume167HC2o1RoDYiHQEARBDmUuCFkCQUMGv0UGDRnyKEOQJYOWPkUg"
	  "aPIjZOkDZCjjnBNZrR1sd9V95CMeJ05EZH/+7e9evvrqF/4V/6v6XeLHn373+69+8T+88G8vv53/6//t/2V/sD/"
	  "Zv9h/lH8t/1n+ufyx/L78e/mn8psf/+HXv/zbv/vVr375m3/88cdf//2Xb77/9sv33//1tz//7vNPv//LH/"
	  "7m80+/fPqrn3347ofvfvbl519++Pz07t275+vz9end5dq/vV76p6frh88fnj+/+/"
	  "Th6dP1+bsPn57Xl+fPH765fP78/"
	  "M3z8eHz9cPzm28+PX14+vB8HP3Sr5frm+txPF26Xy4X73bxd+tyuT4d18ub69Uux7V3f3q6XA9fNy92XI+L+"
	  "dP6uN5d3/txWS/3J+/XNxf365s3z5fL4cfh7jGuraH60d/"
	  "0daF3s35Zr9mz9WtfT6yp7FqerLsVN3OLZ8taR1mzrq/F1kt9zXdcyuFl/Vv3jnXrePJYzJp/jWK99WM9W4/"
	  "16Lq//pULVuBlTble6P0oay9rBvcaP4+4Hh/"
	  "Wumwt44iPV1vzXtbTx7rSe1kb9UsMb70scS05LCkdR6zJjxgjFrduxfdLvFVCSMcFzxds97p2g+ftUtayYuV2YH+"
	  "x7vVz7dA6nnWb1taSylqF9Rq/LWQQn9az9bL2sibg9bEuYwcV/"
	  "xe9tv4bvdoxuLseMu0jRokx4xsG46vxxpq8rhslJuDl+Lwu17hRYmCvsdB4vEA18eHCdcYC68FV4kpIeBp/"
	  "Fw+dWOjvhplwxYbzfmhuqQyjLxVhDzHEGqin3jnZEl13rrY4r6z1xPzrO6QTs2A/"
	  "lxHCPGIn63qP6cMEakzcenyPbS0T4ESxqkKxrdXUozm0EnZz4PdS4xqlX6gTrGEpAlJfGrDmN64nf1hoED+"
	  "qQy3xA8IpUkLM22cYYez65px+iQG/43ourkqhFC3EHfLypfv4/LJmWRfHspoa//qgIcT/"
	  "jRNB0cWbh2pDwc1pKTeHCRX8HDGuryXfjRKJt+r6VjSa83rlhrii9XwMiivxbk0RhLk0GmONh6QvmGXBStd/"
	  "pw1ehktTBGePBdRtBFAvJchpuRjKmMN2WqDEXkyKjRFPzH/"
	  "GemgmJgVxQNh6CN8Ozh26XIM0Kgwqq1QCpTCghbaEXQ652zL0ZW2NDrluGDWURkt9QtjFqDKNNk2SgPVxzuHUWw1"
	  "MwADOl0K4S9FvLfQTBjzWpWXjDY7ZONSS7nqtYtcYF1vE7KlEc5hmCCg+"
	  "pT05LbaYWz57ChzCHG7pHrVDIHq8CjuoS30ueLP5w+yxWmxFmEL/"
	  "9XFw2OWadEOoXfoe8Gw9knYPrWJTg2YFG4GvDYwTEBDaoSGErXpJ07O3XKuMrxdtubpMdumIuo77fdBd9e4Ig2yw"
	  "sPCYcKWabwZqGUej0Tl9Ge7cDnquoCC2bcQ6qDFE2iDlosdKuhrNqOUiYlcymHDyBTnL5o6i+"
	  "CBJ1nhh4cowOuXAANPTfqmTMAjaU2xmWerg4mUMRQBCt+"
	  "JWinTTuOyCizLkmAroczSa7sGnB4x8QhGuGWjTMCEJcL0DiYaNvXAb741AD6wZ3gRkMRpE0SSeJovA+3F3pKxG+"
	  "LGwy2mPJR1z7ffEhX0JIQAAGDYVJtcQMQsRLu50uEto6KQAE5yFfvH62ECFgbDPhkgXhMIC2IbICJBWHqroCkGes"
	  "e9eEiL5jMmrHLHT05MnHKBCPIQ/"
	  "hA+nUy9xYAMdai7pkNztzHnrfjiAl+ouCI4P327eoYDhHB5eTElO9wnEcDibnMtzVOyR/A1OW/"
	  "0B3UPoVtMDSYN8yLga0eCG/"
	  "d88wCK2i5Ug6IA0KNJAXAfcMj1YSIH7hCpHoHRF5YjstGoP0HVuA6gDPMI70xI8IMywmaMBcYQqiBYGyG2wCgcQw"
	  "uIZL85gdD5F0Dp22hRG79iQhyIzEK7HQSpCUl12L6OiOTU4isKEB+"
	  "42MbQiBhgYbQCVGQuagROiE0awSDTgNXrT9hKCTkh3RgybcJigge6EdnoheJeBC3rG5Zi0Q7o9F363nPoQWhOlHI"
	  "C2IhjsQ8jg4R5NdAAAQ2+Xt93SjjofkSLyH2P/En+vSWpzi845/"
	  "cRDPZ1dkc8f1O0EwRsQhfMxuYQBiHxbcHIPvnwzkGOy9PNVvKN4Haa1btxMbtiMmFKONJcYcdl5L5pQarBNKMLcB"
	  "2yuKOgWYAu+"
	  "YRZvAjJy4oxiIB66Cqyhw4IoDhP7hc8ty28cDYvq0D7h33NKkx5zg7RELjUM2bndJlzgA97bpl30Ow/"
	  "7WibTxV5aQjdB6ZSOmIcwmPKxatxLI7X3DNHwKFdcoNoCQZPQzEPx2Tk7aUyygyQW2923bxSZhysmeqq8AX4pqXP"
	  "5sHMcWLRlOmaJiTCt9lBqy8DeIjOpXKcoWCHZY4qktSgYFtL1V6IKGcbXr5HS0W2ICM4BTOQabLtbku+"
	  "icDUoCDkbqToCU+cuKEzumJT8qEwmgM0ucJJJ+Ey0GrDRSm9sLpcZ9NIw4kkgzpSAlAGPOV4Pe7YbYvBMt+"
	  "PtKV2NTD5L19316Q4rceYPyNqKNjc8/S5Nkckz8gcqWzrJEC5fHTsTCzrFfHXZ05ACROUKw/"
	  "BMNKRyGsSc0FpN7DBWVTyjsVmyi00gJiRQQReM/MlJN/"
	  "3uGxgiH3CGSx9woZ0JUCGbb633RpdBchLX40w8YMhK4QqDPhY0OrGD+gmPIxfemBuJ6BJ7N5MvrO+"
	  "dMbgj6yKPaQLTZc49xePdkjhjrIiwWzcPTB5QJUPu+ngw+jH2bMnF/yd+k3TF8OJjWxldJtkIW7HZgCkiZn/"
	  "NYzIPCkFwEoTxIKmN/"
	  "qNKS6JLEnAsFnxCoFqICzvvdNFBZQqRfUaUBj9gKUjhDAUICzwm3GU+79xgY8iQ+Hilbpab7JxM3/"
	  "2BmqBxZDrxZJ9x+Si597dgvmv5s+dI4tdUqBZRDiXa6UWha4BYVEIsYxMdvfT0EmWDVeUNBtBGbAq3Xp/"
	  "eG6M2sOEWDpBWu2ZY6S2NCFROAhAXiPnBzUsmZmA9LjZAiBrM+qYxvc20UwUlxsVgCYn64a0BKiEUOST9Fzh/"
	  "rhkGOHZ11ukeubwzJI8d/LtS0sRtMtUwsEMe1aAabpdbDqCLhD7hLZ7zKmtPc1uX3sLZeyFlLZg7FGyK/"
	  "mcWj4A1/"
	  "YHxyWLSjAEIXFkkesEAxJ4DSnsa8h1ZejwSfGb5Ri6Zbk2FEo93loUVwNWa9WQSk8mKcyeoPm53BQcmeLadkZRkd"
	  "iuZb4JY4lKlHz8eqoR86hsCr1jzMUxoJDkEvWGqwJFv2sYQUXVTpE5vcyJd13Tr0o0GA/WfCRBMsZOWkh/"
	  "GixHu3Jk5MESIO0jsQZUTM1TJMpZ5ErRerGRhQ5ZA6WSxIgUe5a3Gibup/"
	  "sgcyFSdid3yM7KNZGejN5a6iDgk4E4iUvNfH5oCYYp5mbQnstTssRqRAgr5UHxlgmtiTGLlu+"
	  "RmnVkjMgUFyCHLI6svfbMyzQJa0RhT+"
	  "6aZoIoDI4cmqJ7zURjBYJXZkihxoS9x2FuUEroCErAzDFagP0iEgauEaQd3xi08C3SYSCBIdG9KesSZTwr4pLc2s"
	  "jaGCWjBlKkUFNULsNZkxphvMAxOuPyDsNG6eqBlQ14x/"
	  "D2hlMhju9qc5ksMWb+H37ksU2WYJqX8FEQfE93oPkpIGh73sbOjJmGfppyxLF4R6zm4I8WXArVpNS/"
	  "y6RY11hRdAjXyK08+uoE6rY+M3+xVYjg6rh+KqaZK1mmHrHObblJjPyXMh0g6iibx/"
	  "e7KbVgI5hJEOESvOGDP0oqwYNqkBbk8grWIkmUNVkcJ7qAubAIh3YcF0M4Q+SVXqQX0HYlHo/"
	  "HcaDjK82am+IxQNbn6WuIdVuRJTm62pQZrVJJdlM7CFVk+"
	  "cMZGVwXM0oCazGokZK7rL5sEwq5jqmPDAmZwJyhWCuhUDOJMOwlGlD7hIEEdTclnl6VvlhG3umAbSOpC+"
	  "ZZMk4IgoZ+WNbPuCs6FbF31tylPnXRuCXDInEGPJ6cCc+yqveZ+"
	  "ZanFlUyc7MHtW8JjhlPZFUIjwwMzTEFiXPhIKxgRhKfwiDUTpMrI4Fu35BrIUgmcZRNvoz2Wre4F5XeZ6VgGN5Da"
	  "iiUQhdHvgFwj2d0klTY71DTiYrdDcmGZUVSGxqX7LtneTHYv3wN6dVUMyjEcUMIBuhEG7pYsxvRuWigW8riQIJEL"
	  "2AwqXNiqK0SJp094GEqQoFiuVL3tEg5MP5DqPOR67iQ51V8bfRUgSD4gglFGWyQNpMiTtLzAs0/"
	  "ppHTUJNLHlIg0Lm/"
	  "b5TaaZjs2S+"
	  "J8kkRtZoFmP7vuXYADFd1PVUartl5BRwZNglGlazIOzWapbQdhczC7poHn1AfgOuNgvHGaePHDgKslYDbLBFUNSE"
	  "8SlRFWamWqFXZziYL2owxiGRZggyRkYCWgAJ4lYlPGS2Rkur1JxlAiaK96JEGGjmwRuChkhBAWDGjLlo0D1bxJMU"
	  "2XeoaoaCYv6D+zi1KEadUTkYuzjjU6X2WCFlUPLb0RdU1Zo/pHxT0JqeGgAES1a1JFDdL2/"
	  "wpjWxLC2HpkVzmydqjlvvtaRVqlykUD2L9qlnmnJawn6tEDkIdkGa2gEimTqhwXyAo5jYAYFPptl7JBftfFKdA1J"
	  "ubNGS+3P2htpuxCIRzE40RgQQUTlh3Vdyhbhm8ZnP31ysikSr+"
	  "gAN6S45dsITBAIddlYQjQBPQcaqsLMDojmKqYMpeKQGEq6GeNQMEpe1JoJs9YO9IRFYPovgAeHtG4CUlAUEAOEah"
	  "7SUWr/"
	  "ZmtcUEZe0E9KwJNcVEJv4vXsLEIwUXcaN3Yk1fJjU9mwa7kOhoDAqwAjRncOtkdFmEqe2LTa6GWwXb0SBFOrN2jx"
	  "JXMgocUAMK90AHT+pzNGeuE6p6NNdH4wX5jlAd9B8HMtrBrZRhr5CmvVP2zw/"
	  "Cm76QpFHiCVRaV5qhOhNc+2chQE8zUs9GehRdZTXsshAWaCVvy9vBz2zwPu9/"
	  "8McPaXGlwzWKPsxdpgXLhbokeu7Fp5Kj3bfm7nLcbgZyaFcGSq+4J27WLK4fBCoHZ1q2Z+"
	  "5zKpS1pbgOo98Zkv8udCY08U0Sqx/ZK8RQJTxlw5kjZelAZqTMOerGquKv8M6O06wiHZTZcdv8xQ5dV1aaY3k/"
	  "0g4sr2RaIU17ZzmNorKBTU7FzBfR72MlM+6dJkTcJ9TJTy2oP4XC90mu6Tibth+D1tCwxsr1ZkiEwyNa8HaG1g/"
	  "oPq8k4elTR7sytMydBzluS44tMt4QZgM/cGnOFauexnkFnDsoktrSh0xUm5Ehu6du0d7H/"
	  "EwXATI7IZ9W8tH1CpFj2zhMYsvGvEzOq3HqeZCmZGoS7scB/"
	  "AzclqIGuuNqIUHmTwZ85CfyhZ7UwEi7SV9txoOX5ApiZh6s9ahpiJFZYmlhXv7ai2mkejLBswSJvNpPYXO33kNmk"
	  "GYS2WGMF1FRXwz9TEQi/"
	  "I1KOxAO0oSx7OWBMKEyorss6A4p4vfUHonhCR55O4yGH7JnCEuZu2GfuwTJHNeGMWMWwLPYCQnpX2c6q9CZ3z/"
	  "YkSWoytzzmIxn3KrscG5ZJUtUxzYK8q0bXXM5f5NmKrujlI1fzfpPHy2ErDyByvPsO6KUXEaeKgBynDUqGqSUZJn"
	  "44BKFaW7NX2dOx0/6q45qVXlpyo5WC2Il/"
	  "SpSN7Ops4GmYV94JO+vsIE1LVnak61RJwh6Ftc3JBUYj61vOww+qmTj7nyRtJQ0W1QMiJDN+"
	  "L2nmMilR9ltiGUsUKLA9wiNDVFNVQlBYxVZe5SQ1e5ymqvkpr9slCKcJTRmOnMGSSKM+"
	  "10VEu6JbHjujlHVujbGCqVhNvsKSe654pN9DQCoFZMttvCon4eZQR7Oy8OLjQUfzH4CzkzLRPFqQBndlMiqOxOWu"
	  "Fkc24vzEgRKLbshNUW5atc2gQ+CViuaZRlpGUX1GNR0ifCT3hwyWx3f5SLVkQlHnV/"
	  "T0rHrqdv7K+GmI+"
	  "3DJZHD39OSMWJhUbci7sQnS4rCSsHuIpPDkdaw0KmMqQllReMtuHO234egUeT5bFBDQmYAtC2+"
	  "dZk7z5WYDUSMh7v5wLwSAXh8BTcoiIxi2D6y636PgsRQXzQCd0criII+"
	  "9ofA7ZPNUiWofBMnedve8iZxMeziWjgJKgsiIkDMCkHcBWl0N7bTqUMoGMkIATg30U8Q8X8HRot3oUl2Z6byqeB0"
	  "1qcY03nT2mN2CVHvylyh/"
	  "oNbd5Z6sUbZNl6JoPHfpVCEJcOzqujaeyfB5YU4D4OnZgjFmupXVuAEPDCHcucPJAeJ4IIzK9uFc2WxROBr7aAoF"
	  "fGIlUhCOGd4UO4c8gog9aB0t+be2qacszzoKCB7NJi95VqMlES1p0DAlxWDLnj/"
	  "4yaBPNhKRbet8LZoEoTiVK4rJM/"
	  "JYN1wJUmPmVnsSloozKLcQoOCBxHHoiEMTRM3oXjoNltLReUwqnKrqKU+"
	  "2rlWUwEmvxrPP2NUtezi0DNgGSE2VhYhqsRcJvu3Z6hHblSSdRRy2ncx0Iql6duYDPgchW+"
	  "E4OzDgWCFPuDpdyrMlWymIiKbM2Lpt7JCPAWlPVSIAAT09RgBHzNPJey7ambvUHEMHYnRSUY7DQxw36Vfe4qAORW"
	  "dymDJDwUhBj8LNOQ4UmEDqJBVOUy1ckftDsTxf4TtxWsTUNx+"
	  "ovLeL9aww4t33rpOjLEBQfn3KJOB5TBRK1rqEIuiDDduHIrGj5bddKacWKwdt6rorLreNDFnGyUIX6u4ZA7bhw6h"
	  "gVyei2dBBnxoHUdn+mo+kqaX/sxyR7jgtTyyDoUdER9r+IHjV8ySxzNLxhyG9Kv+dxKvZiZEjT/"
	  "WJ6gzftoUVTCIDqpok5hs5FH0e/KLS+idsCmhEqXueyiNvaL1l1517jJVl0VYpWII3zJR1rLk7/"
	  "bnRvvKazl54ZAMssmGA8apSyo1h/"
	  "5j33Kp6DPhePmLqycw0TxaqicJdqV56Y55myCw4uWeo0on6EHOGtCzRWZFHyO8En3zChQ+"
	  "P4wykG7CiAypnosHzvrjGwts+rZ7RT/mwP/"
	  "6wowhQlLHJlprLwsA+ulr6Q91mwqPpeLxlqlczKrMM6vhrt+"
	  "H772LsUSFUtmAit8XJeBsdM9sYpB9ggAPnw8mgfRysH2T0STsvctaBBL6+"
	  "MpVlhF3NB53jcx6tq6pp2qv4OHe8A1yqWuusTOGUpLimP/"
	  "p1kOvZawLHSWPKGAhfCQ+T0esvM0hUGLGVxMvATRXOLVHCmLoNhdhT+tA9R+"
	  "0JLIHYNJEcdp75O40k2wiT4g2ReRWeiY2jzkEjonEi8NpxzJOvpbVKOuIWKMe85dUhSeSz+"
	  "qsbpmR4frqyHdTTtQ2wbMa5JuZ4VPXYdSh+ov3R5NdNzTLGbkz9Z8IOSgAFZ7ods+2CWrxKOqxENJ6sexAmpCJx/"
	  "gd+w+uDtQABNvc2mGnt81qsZ3vbEHwij32baiMkCFLpq0RjjwNqH6nnzLEFG1lwEyMNNDLLP1bLl/"
	  "cBIX8V+NtFyZZFnqQl3MBoRpydiLd4sEzWoMPc+yhMGAT4Zk/"
	  "mHCz8Hgc1K0rfdDykTtLyjWcBlIvUtEqGQ4WOnhJAo6jjyz2MbiRZyTCaPBg7ZjbMQ0in7Sb8JqWT52kKEpcXy0w"
	  "+huG3CYBSXStlJDC9bXEyyfsY77519U7Jg6AwHB1nYGQPdGgZBLYXELSWvjeIhjgJQ6GuGV76QDLxOH8yNTtJZP5"
	  "hzp0JhhWtLnyFeQDbX1b23hH/Qg+u2FR5cF/HpFQ4vnG/"
	  "TdGAB+XjLDIhbJDmCYMaUtCpfS0kRfVVhJfFGfydBzKDovNs7EMiq1WIjA9/rg02paTr0a/z7/"
	  "7qLqH8hMxog1T6Go7e8wwsrDyc8gQpnsmUswnQki2q31wz7lkUHv5CTrL2+TFmP1F9uImX/"
	  "QT55lgrU74fBxHC2z5yRwXHd5oRyJYw4v25z1nQnv4PwQ/chQ==" },
};

Test(hdr_sparse, same_percentiles_merge_and_encoding_as_the_dense_array)
{
	for (size_t g = 0; g < sizeof(golden) / sizeof(golden[0]); g++) {
		uint64_t s = 0x9E3779B97F4A7C15ull * (uint64_t)golden[g].seed;
		struct hdr *a = hdr_new_default(), *b = hdr_new_default();
		for (int i = 0; i < 20000; i++) {
			uint64_t r = rng(&s);
			int shift = (int)(r % 33);
			int64_t v = (int64_t)((rng(&s) >> 20) >> (44 - shift));
			v = v % 3600000001LL;
			hdr_record(i % 3 ? a : b, v);
		}
		hdr_merge(a, b);
		cr_expect_eq(hdr_value_at_percentile(a, 50), golden[g].p50, "seed %d",
		             golden[g].seed);
		cr_expect_eq(hdr_value_at_percentile(a, 90), golden[g].p90);
		cr_expect_eq(hdr_value_at_percentile(a, 99), golden[g].p99);
		cr_expect_eq(hdr_value_at_percentile(a, 99.99), golden[g].p9999);
		cr_expect_eq(a->total_count, golden[g].count);
		char *enc = NULL;
		cr_assert_eq(hdr_encode(a, &enc), 0);
		cr_expect_str_eq(enc, golden[g].encoding, "seed %d: the V2 encoding changed",
		                 golden[g].seed);
		/* and it decodes to the same counters */
		struct hdr *d = NULL;
		cr_assert_eq(hdr_decode(enc, strlen(enc), &d), 0);
		for (int i = 0; i < a->counts_len; i++)
			cr_assert_eq(hdr_count_at_index(d, i), hdr_count_at_index(a, i), "index %d",
			             i);
		hdr_free(d);
		free(enc);
		hdr_free(a);
		hdr_free(b);
	}
}

/* What a histogram costs follows its data: an empty one is its header and directory, one
 * value adds one group and one chunk, and a full range costs at most the dense array plus
 * the directories. */
Test(hdr_sparse, cost_follows_the_data)
{
	struct hdr *h = hdr_new_default();
	size_t empty = hdr_memory_size(h);
	cr_expect_leq(empty, 512, "an empty histogram costs %zu bytes", empty);
	hdr_record(h, 1234);
	size_t one = hdr_memory_size(h);
	cr_expect_leq(one, empty + HDR_GROUP * sizeof(void *) + HDR_CHUNK * sizeof(int64_t),
	              "one value costs %zu bytes", one - empty);
	for (int i = 0; i < 1000; i++) /* a latency distribution: 1-3 ms */
		hdr_record(h, 1000 + (i * 2003) % 2000);
	cr_expect_leq(hdr_memory_size(h), 24 * 1024, "a 1-3 ms spread costs %zu bytes",
	              hdr_memory_size(h));
	hdr_reset(h); /* chunks are kept for the next interval, and read as zero */
	cr_expect_eq(hdr_count_at_value(h, 1234), 0);
	cr_expect_eq(h->total_count, 0);
	for (int64_t v = 1; v < HDR_HIGHEST; v = v * 11 / 10 + 1)
		hdr_record(h, v);
	cr_expect_leq(hdr_memory_size(h),
	              sizeof(*h) + (size_t)h->counts_len * (sizeof(int64_t) + 1) + 4096);
	hdr_free(h);
}

/* A histogram reset every interval (a worker's or the coordinator's per-second one) holds
 * the buckets of its last two intervals, not every bucket any interval touched: over a long
 * run whose values wander (a different millisecond each interval), its memory stays flat,
 * and what it reads after a reset is what a fresh histogram would. */
Test(hdr_sparse, reset_every_interval_keeps_memory_flat)
{
	struct hdr *h = hdr_new_default();
	size_t most = 0;
	for (int t = 0; t < 600; t++) {
		int64_t base = 1000 + 1000 * (int64_t)(t % 300); /* 1 ms .. 300 ms, then again */
		struct hdr *fresh = hdr_new_default();
		for (int i = 0; i < 200; i++) {
			hdr_record(h, base + i * 3);
			hdr_record(fresh, base + i * 3);
		}
		cr_assert_eq(hdr_value_at_percentile(h, 99), hdr_value_at_percentile(fresh, 99));
		cr_assert_eq(hdr_value_at_percentile(h, 50), hdr_value_at_percentile(fresh, 50));
		cr_assert_eq(h->total_count, fresh->total_count);
		if (t >= 10 && hdr_memory_size(h) > most)
			most = hdr_memory_size(h);
		hdr_free(fresh);
		hdr_reset(h);
	}
	/* two intervals' worth of a 600-us spread: a few chunks, never all 300 ms of them */
	cr_expect_leq(most, 16 * 1024, "a reset histogram grew to %zu bytes", most);
	hdr_free(h);
}
