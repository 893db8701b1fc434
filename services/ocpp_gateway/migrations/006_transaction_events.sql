-- how many events of the transaction are queued (OCPP 2.0.1 seqNo): the next one is numbered with it
ALTER TABLE transactions ADD COLUMN events INTEGER NOT NULL DEFAULT 0;
