"""Everything that makes Faust and Kafka deliver the contract: the time-ordered merge of a
partition's inputs, the batch runner, delivery, state writes, commits, offset order, the
stall watchdog and the engine's metrics. Faust's and aiokafka's private members are touched
in ``faust_private`` only."""
