-- v2: the floors of a consumer group of parts (see Log.Consume): for each part that ran as a group of its own
-- before, the last offset it had handled then, which the merged group must not hand it again. A row lives from
-- the group's first start until the group has committed past it.
CREATE TABLE consumer_part_floors (
	consumer_group TEXT NOT NULL,
	part TEXT NOT NULL,
	floor_offset INTEGER NOT NULL,
	PRIMARY KEY (consumer_group, part)
);
