-- A deleted customer: `delete_customer` erases its personal fields (name, email, metadata) and
-- sets `deleted_at`; the row stays, because every money record (usage, credits, invoices, holds,
-- the audit log) refers to it and its id stays taken. A deleted customer records no new usage,
-- is refused every new write, and is left out of list_customers unless asked for.
ALTER TABLE customers ADD COLUMN deleted_at BIGINT;
