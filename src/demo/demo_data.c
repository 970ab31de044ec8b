/* demo_data.c: the demo server's deterministic in-memory catalogue: products, users, orders. */
#include "demo/demo_data.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/common.h"

static const char *const adjectives[] = {
	"Ergonomic", "Rustic",  "Sleek", "Practical", "Durable", "Handmade",
	"Compact",   "Premium", "Smart", "Vintage",   "Modern",  "Lightweight",
};
static const char *const materials[] = {
	"Steel", "Wooden", "Cotton", "Granite", "Plastic", "Leather", "Bamboo", "Copper",
};
static const char *const nouns[] = {
	"Chair", "Table", "Lamp", "Keyboard", "Backpack", "Bottle", "Jacket", "Clock",
	"Mug",   "Shoes", "Desk", "Speaker",  "Wallet",   "Gloves", "Kettle", "Notebook",
};
static const char *const categories[] = {
	"home", "office", "outdoor", "kitchen", "electronics", "clothing", "sports", "toys",
};
static const char *const statuses[] = { "pending", "paid", "shipped", "delivered", "cancelled" };

/* splitmix64: a small deterministic generator. */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t pick(uint64_t *s, uint32_t n)
{
	return (uint32_t)(next_rand(s) % n);
}

void demo_data_generate(struct demo_data *d)
{
	uint64_t seed = 0x5eed0fdeda7aULL;

	d->nproducts = DEMO_PRODUCTS;
	d->products = xcalloc((size_t)d->nproducts, sizeof(*d->products));
	for (int32_t i = 0; i < d->nproducts; i++) {
		struct demo_product *p = &d->products[i];

		p->id = i + 1;
		p->price_cents = 199 + (int32_t)pick(&seed, 99800);
		p->stock = (int32_t)pick(&seed, 500);
		p->category = (uint8_t)pick(&seed, ARRAY_SIZE(categories));
		snprintf(p->name, sizeof(p->name), "%s %s %s",
		         adjectives[pick(&seed, ARRAY_SIZE(adjectives))],
		         materials[pick(&seed, ARRAY_SIZE(materials))],
		         nouns[pick(&seed, ARRAY_SIZE(nouns))]);
	}

	d->nusers = DEMO_USERS;
	d->users = xcalloc((size_t)d->nusers, sizeof(*d->users));
	d->orders = xcalloc((size_t)d->nusers * DEMO_MAX_ORDERS, sizeof(*d->orders));
	d->norders = 0;
	for (int32_t i = 0; i < d->nusers; i++) {
		struct demo_user *u = &d->users[i];

		u->id = i + 1;
		u->first_order = d->norders;
		u->norders = (int32_t)pick(&seed, DEMO_MAX_ORDERS + 1);
		for (int32_t k = 0; k < u->norders; k++) {
			struct demo_order *o = &d->orders[d->norders++];
			const struct demo_product *p =
			    &d->products[pick(&seed, (uint32_t)d->nproducts)];

			o->id = d->norders;
			o->product_id = p->id;
			o->quantity = 1 + (int32_t)pick(&seed, 5);
			o->total_cents = o->quantity * p->price_cents;
			o->status = (uint8_t)pick(&seed, ARRAY_SIZE(statuses));
		}
	}
}

void demo_data_free(struct demo_data *d)
{
	free(d->products);
	free(d->users);
	free(d->orders);
	d->products = NULL;
	d->users = NULL;
	d->orders = NULL;
}

const struct demo_product *demo_data_product(const struct demo_data *d, int64_t id)
{
	return id >= 1 && id <= d->nproducts ? &d->products[id - 1] : NULL;
}

const struct demo_user *demo_data_user(const struct demo_data *d, int64_t id)
{
	return id >= 1 && id <= d->nusers ? &d->users[id - 1] : NULL;
}

const char *demo_data_category(uint8_t c)
{
	return c < ARRAY_SIZE(categories) ? categories[c] : "other";
}

const char *demo_data_order_status(uint8_t s)
{
	return s < ARRAY_SIZE(statuses) ? statuses[s] : "unknown";
}
