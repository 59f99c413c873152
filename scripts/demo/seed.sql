-- Demo dataset for `deno task demo` (loaded into an in-memory PGlite by scripts/demo.ts).
-- Deterministic: no random(), so every run exports the same rows. Row counts are listed in
-- scripts/demo/demo_data.ts (DEMO_TABLES); keep them in step with the generate_series bounds.
-- Covers: smallint/int/bigint, numeric(12,2), double precision, text with unicode, quotes,
-- commas and newlines, boolean, date, timestamp, timestamptz with microseconds, uuid, jsonb,
-- bytea, text[] and int[] arrays, and NULLs in most nullable columns.

SET TimeZone = 'UTC';

CREATE TABLE customers (
  id            bigint PRIMARY KEY,
  customer_uuid uuid NOT NULL,
  full_name     text NOT NULL,
  email         text,
  country       text,
  is_active     boolean NOT NULL,
  signup_date   date NOT NULL,
  credit_limit  numeric(12,2),
  tags          text[],
  notes         text,
  created_at    timestamptz NOT NULL,
  updated_at    timestamp
);

INSERT INTO customers
SELECT
  i,
  md5('customer-' || i)::uuid,
  (ARRAY['Zoë O''Brien', 'José "Pepe" García', 'Søren, Kierkegaard', '李小龙', 'Ангелина Петрова',
         'Ada Lovelace', 'Grace Hopper', 'Niklaus Wirth', 'Émilie du Châtelet', 'Björk Guðmundsdóttir'])
    [1 + i % 10] || ' #' || i,
  CASE WHEN i % 17 = 0 THEN NULL ELSE 'user' || i || '@example.com' END,
  (ARRAY['DE', 'FR', 'US', 'JP', 'BR', 'IN', 'SE', NULL])[1 + i % 8],
  i % 5 <> 0,
  DATE '2019-01-01' + (i * 7) % 2000,
  CASE WHEN i % 11 = 0 THEN NULL ELSE ((i * 7919) % 5000000) / 100.0 END,
  CASE i % 4
    WHEN 0 THEN NULL
    WHEN 1 THEN ARRAY['vip']
    WHEN 2 THEN ARRAY['newsletter', 'beta, "early" access']
    ELSE ARRAY[]::text[]
  END,
  CASE i % 6
    WHEN 0 THEN NULL
    WHEN 1 THEN 'Prefers email, not phone'
    WHEN 2 THEN E'Line one\nLine two, with "quotes"'
    WHEN 3 THEN 'Emoji 🚀 and tab	inside'
    WHEN 4 THEN ''
    ELSE 'Says "hi", ''bye'''
  END,
  TIMESTAMPTZ '2020-01-01 00:00:00+00' + i * INTERVAL '3 hours 17 minutes 13.123457 seconds',
  CASE WHEN i % 3 = 0 THEN NULL
       ELSE TIMESTAMP '2024-01-01 00:00:00' + i * INTERVAL '11 minutes 0.000001 seconds' END
FROM generate_series(1, 2000) AS i;

CREATE TABLE products (
  id          integer PRIMARY KEY,
  sku         text NOT NULL UNIQUE,
  name        text NOT NULL,
  price       numeric(12,2) NOT NULL,
  weight_kg   double precision,
  in_stock    boolean,
  attributes  jsonb,
  thumbnail   bytea,
  ratings     integer[],
  launched_on date
);

INSERT INTO products
SELECT
  i,
  'SKU-' || lpad(i::text, 5, '0'),
  (ARRAY['Widget', 'Gadget', 'Gizmo', 'Doohickey', 'Thingamajig'])[1 + i % 5]
    || CASE WHEN i % 7 = 0 THEN ', deluxe "XL"' ELSE ' ' || i END,
  round((1 + (i * 37) % 99999) / 100.0, 2),
  CASE WHEN i % 9 = 0 THEN NULL ELSE ((i * 13) % 5000) / 100.0 END,
  CASE WHEN i % 10 = 0 THEN NULL ELSE i % 3 <> 0 END,
  CASE WHEN i % 8 = 0 THEN NULL
       ELSE jsonb_build_object('color', (ARRAY['red', 'green', 'blue', 'ünïcödé'])[1 + i % 4],
                               'size', i % 5, 'fragile', i % 2 = 0,
                               'dims', jsonb_build_array(i % 10, i % 20, i % 30)) END,
  CASE WHEN i % 6 = 0 THEN NULL ELSE decode(md5('product-' || i), 'hex') END,
  CASE WHEN i % 5 = 0 THEN NULL ELSE ARRAY[i % 5 + 1, (i * 3) % 5 + 1, NULL, (i * 7) % 5 + 1] END,
  DATE '2015-06-01' + (i * 13) % 3000
FROM generate_series(1, 250) AS i;

CREATE TABLE orders (
  id          bigint PRIMARY KEY,
  order_uuid  uuid NOT NULL,
  customer_id bigint NOT NULL REFERENCES customers (id),
  status      text NOT NULL,
  order_date  date NOT NULL,
  ordered_at  timestamptz NOT NULL,
  shipped_at  timestamp,
  total       numeric(12,2) NOT NULL,
  currency    text NOT NULL,
  note        text,
  metadata    jsonb
);

INSERT INTO orders
SELECT
  i,
  md5('order-' || i)::uuid,
  1 + (i * 7) % 2000,
  (ARRAY['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'])[1 + i % 6],
  (TIMESTAMPTZ '2023-01-01 00:00:00+00' + i * INTERVAL '1 hour 43 minutes 0.654321 seconds')::date,
  TIMESTAMPTZ '2023-01-01 00:00:00+00' + i * INTERVAL '1 hour 43 minutes 0.654321 seconds',
  CASE WHEN i % 6 IN (2, 3)
       THEN TIMESTAMP '2023-01-02 08:00:00' + i * INTERVAL '1 hour 43 minutes 0.000321 seconds'
  END,
  0, -- filled in from order_items below
  (ARRAY['EUR', 'USD', 'JPY', 'BRL'])[1 + i % 4],
  CASE i % 9
    WHEN 0 THEN E'Leave at the door,\nring twice'
    WHEN 1 THEN 'Gift wrap: "Happy Birthday!"'
    WHEN 2 THEN 'Café au lait, s''il vous plaît'
    WHEN 3 THEN '配達は午前中にお願いします'
    ELSE NULL
  END,
  CASE WHEN i % 4 = 0 THEN NULL
       ELSE jsonb_build_object('channel', (ARRAY['web', 'app', 'phone'])[1 + i % 3],
                               'coupon', CASE WHEN i % 10 = 0 THEN 'SAVE10' END,
                               'items_hint', i % 5 + 1) END
FROM generate_series(1, 6000) AS i;

CREATE TABLE order_items (
  order_id   bigint NOT NULL REFERENCES orders (id),
  line_no    smallint NOT NULL,
  product_id integer NOT NULL REFERENCES products (id),
  quantity   integer NOT NULL,
  unit_price numeric(12,2) NOT NULL,
  discount   numeric(12,2),
  PRIMARY KEY (order_id, line_no)
);

-- 1 to 5 lines per order (line_no <= order id % 5 + 1): 18,000 rows for 6,000 orders.
INSERT INTO order_items
SELECT
  o.i,
  l.n,
  1 + (o.i * 31 + l.n * 17) % 250,
  1 + (o.i + l.n) % 4,
  p.price,
  CASE WHEN (o.i + l.n) % 7 = 0 THEN round(p.price * 0.1, 2) END
FROM generate_series(1, 6000) AS o(i)
CROSS JOIN LATERAL generate_series(1, o.i % 5 + 1) AS l(n)
JOIN products p ON p.id = 1 + (o.i * 31 + l.n * 17) % 250;

UPDATE orders o
SET total = s.total
FROM (SELECT order_id, sum(quantity * unit_price - coalesce(discount, 0)) AS total
      FROM order_items GROUP BY order_id) s
WHERE s.order_id = o.id;

CREATE TABLE events (
  id          bigint PRIMARY KEY,
  event_id    uuid NOT NULL,
  occurred_at timestamptz NOT NULL,
  kind        text NOT NULL,
  customer_id bigint,
  duration_ms double precision,
  is_bot      boolean,
  payload     jsonb,
  labels      text[]
);

INSERT INTO events
SELECT
  i,
  md5('event-' || i)::uuid,
  TIMESTAMPTZ '2024-03-01 00:00:00+00' + i * INTERVAL '41.987654 seconds',
  (ARRAY['page_view', 'add_to_cart', 'checkout', 'login', 'search'])[1 + i % 5],
  CASE WHEN i % 4 = 0 THEN NULL ELSE 1 + (i * 13) % 2000 END,
  CASE WHEN i % 10 = 0 THEN NULL ELSE (i % 997) * 1.25 END,
  CASE WHEN i % 12 = 0 THEN NULL ELSE i % 25 = 0 END,
  jsonb_build_object('path', '/p/' || (i % 250 + 1), 'q', CASE WHEN i % 5 = 4 THEN 'größe, "xl"' END,
                     'ua', 'Mozilla/5.0 (demo)', 'n', i),
  CASE WHEN i % 3 = 0 THEN NULL ELSE ARRAY['src:' || (ARRAY['ads', 'seo', 'mail'])[1 + i % 3], 'ab:' || i % 2] END
FROM generate_series(1, 12000) AS i;

ANALYZE;
