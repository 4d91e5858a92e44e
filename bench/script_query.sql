-- query
SELECT o_orderkey, o_orderdate, o_shippriority,
       SUM(l_extendedprice * (1 - l_discount)) AS revenue, COUNT(*) AS lines
FROM lineitem JOIN orders ON l_orderkey = o_orderkey
WHERE l_shipdate > DATE '1995-03-15' AND o_orderdate < DATE '1995-03-15'
GROUP BY o_orderkey, o_orderdate, o_shippriority
ORDER BY revenue DESC, o_orderdate, o_orderkey
