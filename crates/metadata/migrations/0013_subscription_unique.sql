-- One live (pending or active) subscription per product and customer, even
-- when two subscribe at once on PostgreSQL.
CREATE UNIQUE INDEX product_subscription_live ON product_subscription (product_id, customer_org_id)
    WHERE state IN ('pending', 'active');
