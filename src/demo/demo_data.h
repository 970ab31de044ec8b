/* demo_data.h: the demo server's deterministic in-memory catalogue: products, users, orders. */
#ifndef STAMPEDE_DEMO_DATA_H
#define STAMPEDE_DEMO_DATA_H

#include <stdint.h>

#define DEMO_PRODUCTS    10000
#define DEMO_USERS       1000
#define DEMO_LOGIN_USERS 100000 /* userN@test.com, N = 1..this, may log in */
#define DEMO_MAX_ORDERS  50     /* per user */

struct demo_product {
	int32_t id;
	int32_t price_cents;
	int32_t stock;
	uint8_t category;
	char name[48];
};

struct demo_order {
	int32_t id;
	int32_t product_id;
	int32_t quantity;
	int32_t total_cents;
	uint8_t status;
};

struct demo_user {
	int32_t id;
	int32_t first_order; /* index into orders */
	int32_t norders;
};

struct demo_data {
	struct demo_product *products; /* products[id - 1] */
	int32_t nproducts;
	struct demo_user *users; /* users[id - 1] */
	int32_t nusers;
	struct demo_order *orders;
	int32_t norders;
};

/* Generate the catalogue; the same for every run. Free with demo_data_free(). */
void demo_data_generate(struct demo_data *d);
void demo_data_free(struct demo_data *d);

/* Lookups by id; NULL when absent. */
const struct demo_product *demo_data_product(const struct demo_data *d, int64_t id);
const struct demo_user *demo_data_user(const struct demo_data *d, int64_t id);

/* Names of a product category and an order status. */
const char *demo_data_category(uint8_t c);
const char *demo_data_order_status(uint8_t s);

#endif
