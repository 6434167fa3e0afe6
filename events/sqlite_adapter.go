package events

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
)

// SQLiteSchema is watermill-sql's SchemaAdapter for SQLite: a topic is a table whose INTEGER PRIMARY KEY
// AUTOINCREMENT column is the offset. SQLite has a single writer, so offsets become visible in commit order and
// the sequence-gap problem Postgres has (watermill #311) cannot occur; AUTOINCREMENT keeps offsets from being
// reused after pruning.
type SQLiteSchema struct {
	// BatchSize is how many messages a subscriber reads (and handles in one transaction). Default 50.
	BatchSize int
	// Now stamps rows for retention; default time.Now.
	Now func() time.Time
}

// MessagesTable returns the quoted table name of a topic. Topic names are validated by watermill-sql (no quotes
// possible), so quoting makes them safe to splice into SQL.
func (s SQLiteSchema) MessagesTable(topic string) string {
	return `"watermill_` + topic + `"`
}

// SchemaInitializingQueries creates the topic's table.
func (s SQLiteSchema) SchemaInitializingQueries(params wsql.SchemaInitializingQueriesParams) ([]wsql.Query, error) {
	return []wsql.Query{{Query: `CREATE TABLE IF NOT EXISTS ` + s.MessagesTable(params.Topic) + ` (
		"offset" INTEGER PRIMARY KEY AUTOINCREMENT,
		uuid TEXT NOT NULL,
		payload BLOB NOT NULL,
		metadata TEXT NOT NULL,
		created_ms INTEGER NOT NULL
	)`}}, nil
}

// InsertQuery inserts messages in the given order, which becomes their offset order.
func (s SQLiteSchema) InsertQuery(params wsql.InsertQueryParams) (wsql.Query, error) {
	if len(params.Msgs) == 0 {
		return wsql.Query{}, fmt.Errorf("insert into topic %s: no messages", params.Topic)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	createdMs := now().UnixMilli()
	var b strings.Builder
	b.WriteString(`INSERT INTO ` + s.MessagesTable(params.Topic) + ` (uuid, payload, metadata, created_ms) VALUES `)
	args := make([]any, 0, 4*len(params.Msgs))
	for i, msg := range params.Msgs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?)")
		md, err := json.Marshal(msg.Metadata)
		if err != nil {
			return wsql.Query{}, fmt.Errorf("marshal metadata of message %s: %w", msg.UUID, err)
		}
		args = append(args, msg.UUID, []byte(msg.Payload), string(md), createdMs)
	}
	return wsql.Query{Query: b.String(), Args: args}, nil
}

func (s SQLiteSchema) batchSize() int {
	if s.BatchSize <= 0 {
		return 50
	}
	return s.BatchSize
}

// SelectQuery reads the next batch after the consumer group's acknowledged offset.
func (s SQLiteSchema) SelectQuery(params wsql.SelectQueryParams) (wsql.Query, error) {
	next, err := params.OffsetsAdapter.NextOffsetQuery(wsql.NextOffsetQueryParams{
		Topic:         params.Topic,
		ConsumerGroup: params.ConsumerGroup,
	})
	if err != nil {
		return wsql.Query{}, err
	}
	q := `SELECT "offset", uuid, payload, metadata FROM ` + s.MessagesTable(params.Topic) +
		` WHERE "offset" > (` + next.Query + `) ORDER BY "offset" ASC LIMIT ` + strconv.Itoa(s.batchSize())
	return wsql.Query{Query: q, Args: next.Args}, nil
}

// UnmarshalMessage turns a selected row into a watermill message.
func (s SQLiteSchema) UnmarshalMessage(params wsql.UnmarshalMessageParams) (wsql.Row, error) {
	var r wsql.Row
	var metadata string
	if err := params.Row.Scan(&r.Offset, &r.UUID, &r.Payload, &metadata); err != nil {
		return wsql.Row{}, fmt.Errorf("scan message row: %w", err)
	}
	r.Metadata = []byte(metadata)
	msg := message.NewMessage(string(r.UUID), r.Payload)
	if metadata != "" {
		if err := json.Unmarshal(r.Metadata, &msg.Metadata); err != nil {
			return wsql.Row{}, fmt.Errorf("unmarshal metadata of message at offset %d: %w", r.Offset, err)
		}
	}
	r.Msg = msg
	return r, nil
}

// SubscribeIsolationLevel is the default: SQLite transactions are serializable, and the store's connections
// begin read-write transactions IMMEDIATE, so a consumer holds the write lock from its SELECT to its offset
// commit and two consumers of one group cannot read the same offset.
func (s SQLiteSchema) SubscribeIsolationLevel() sql.IsolationLevel {
	return sql.LevelDefault
}

// SQLiteOffsets is watermill-sql's OffsetsAdapter for SQLite: one row per consumer group with the last
// acknowledged offset. It needs no row locking (SQLite has no SELECT … FOR UPDATE): the subscriber's transaction
// already holds the database's write lock from BEGIN IMMEDIATE.
type SQLiteOffsets struct{}

// MessagesOffsetsTable returns the quoted offsets table name of a topic.
func (SQLiteOffsets) MessagesOffsetsTable(topic string) string {
	return `"watermill_offsets_` + topic + `"`
}

// SchemaInitializingQueries creates the topic's offsets table.
func (a SQLiteOffsets) SchemaInitializingQueries(params wsql.OffsetsSchemaInitializingQueriesParams) ([]wsql.Query, error) {
	return []wsql.Query{{Query: `CREATE TABLE IF NOT EXISTS ` + a.MessagesOffsetsTable(params.Topic) + ` (
		consumer_group TEXT PRIMARY KEY,
		offset_acked INTEGER NOT NULL
	)`}}, nil
}

// AckMessageQuery records the last handled offset of a batch.
func (a SQLiteOffsets) AckMessageQuery(params wsql.AckMessageQueryParams) (wsql.Query, error) {
	return wsql.Query{
		Query: `INSERT INTO ` + a.MessagesOffsetsTable(params.Topic) + ` (consumer_group, offset_acked) VALUES (?, ?)
			ON CONFLICT (consumer_group) DO UPDATE SET offset_acked = excluded.offset_acked`,
		Args: []any{params.ConsumerGroup, params.LastRow.Offset},
	}, nil
}

// NextOffsetQuery selects the group's last acknowledged offset (0 before its first ack).
func (a SQLiteOffsets) NextOffsetQuery(params wsql.NextOffsetQueryParams) (wsql.Query, error) {
	return wsql.Query{
		Query: `SELECT COALESCE((SELECT offset_acked FROM ` + a.MessagesOffsetsTable(params.Topic) +
			` WHERE consumer_group = ?), 0)`,
		Args: []any{params.ConsumerGroup},
	}, nil
}

// ConsumedMessageQuery is not needed: see the type's comment.
func (SQLiteOffsets) ConsumedMessageQuery(wsql.ConsumedMessageQueryParams) (wsql.Query, error) {
	return wsql.Query{}, nil
}

// BeforeSubscribingQueries registers the group with offset 0, so that it shows in lag metrics and holds back
// topic pruning from its first moment.
func (a SQLiteOffsets) BeforeSubscribingQueries(params wsql.BeforeSubscribingQueriesParams) ([]wsql.Query, error) {
	return []wsql.Query{{
		Query: `INSERT INTO ` + a.MessagesOffsetsTable(params.Topic) + ` (consumer_group, offset_acked) VALUES (?, 0)
			ON CONFLICT (consumer_group) DO NOTHING`,
		Args: []any{params.ConsumerGroup},
	}}, nil
}

var (
	_ wsql.SchemaAdapter  = SQLiteSchema{}
	_ wsql.OffsetsAdapter = SQLiteOffsets{}
)
