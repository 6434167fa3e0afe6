-- v2: the floors of a consumer group of parts (see Log.Consume): for each part that ran as a group of its own
-- before, the last offset it had handled then, which the merged group must not hand it again. A row lives from
-- the group's first start until the group has committed past it.
CREATE TABLE consumer_part_floors (
	consumer_group TEXT COLLATE "C" NOT NULL,
	part TEXT COLLATE "C" NOT NULL,
	floor_offset BIGINT NOT NULL,
	PRIMARY KEY (consumer_group, part)
);
