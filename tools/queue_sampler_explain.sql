-- The queue sampler's counts (src/Coordinator/Metrics/QueueSampler.cs) on a farm database
-- with 200,000 tuples, as EF Core sends them; docs/performance.md, "Coordinator: the queue
-- sampler". Run on an EMPTY, migrated database (it fills `tuples`):
--   psql -h 127.0.0.1 -p PORT -U postgres -d DB -f tools/queue_sampler_explain.sql
-- 40 sweeps of 5,000 tuples: 39 finished (done, every 50th failed), the last one running
-- (400 done, 100 running, 500 queued, 4,000 pending): 4,600 of 200,000 tuples open.
-- QueueSamplerPlanTests (tests/Farm.IntegrationTests) runs this INSERT too.
INSERT INTO tuples (id, sweep_id, packet_id, model, version, op, unit, technique, params_hash, state, attempts, reused, updated_at)
SELECT md5('t' || i), md5('s' || (i / 5000)), md5('p' || (i / 32)), 'inceptionv1', 'v1', 'mixed4c', i % 5000, 'channel', '0123456789ab',
       CASE WHEN i < 195000 THEN (CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'done' END)
            WHEN i < 195400 THEN 'done' WHEN i < 195500 THEN 'running' WHEN i < 196000 THEN 'queued' ELSE 'pending' END,
       1, false, 0
FROM generate_series(0, 199999) AS i;
VACUUM ANALYZE tuples;
\timing on
EXPLAIN (ANALYZE, BUFFERS) SELECT t.state AS "Key", count(*) AS "Count"
FROM tuples AS t
WHERE t.state IN ('pending', 'queued', 'running')
GROUP BY t.state;
EXPLAIN (ANALYZE, BUFFERS) SELECT count(*)::bigint FROM (
    SELECT DISTINCT t.sweep_id
    FROM tuples AS t
    WHERE t.state IN ('pending', 'queued', 'running')) AS s;
