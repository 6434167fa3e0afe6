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

	"github.com/plugzapi/plugzapi/store"
)

// StreamSchema is watermill-sql's SchemaAdapter for the stream, in either dialect: a topic is a table whose
// auto-numbered column is the offset (SQLite: INTEGER PRIMARY KEY AUTOINCREMENT, which keeps offsets from being
// reused after pruning; Postgres: an identity column, which never reuses a value). Its statements are written
// once, with '?' placeholders (the store rebinds them for Postgres).
//
// Offsets must become visible in offset order, or a consumer that reads offset 11 and acknowledges it never
// sees 10 (watermill-sql #311). SQLite has a single writer, so they do. On Postgres, concurrent transactions
// take identity values in one order and may commit in another; the log makes them take their offsets under a
// lock held to commit (see lockStream), which restores the order.
type StreamSchema struct {
	// Dialect is the database's; the zero value is SQLite.
	Dialect store.Dialect
	// BatchSize is how many messages a subscriber reads (and handles in one transaction). Default 50.
	BatchSize int
	// Now stamps rows for retention; default time.Now.
	Now func() time.Time
	// StallTimeout bounds, on Postgres, how long a consumer's transaction may sit idle (see SelectQuery); zero
	// leaves the server's setting.
	StallTimeout time.Duration
}

// MessagesTable returns the quoted table name of a topic. Topic names are validated by watermill-sql (no quotes
// possible), so quoting makes them safe to splice into SQL.
func (s StreamSchema) MessagesTable(topic string) string {
	return `"watermill_` + topic + `"`
}

// SchemaInitializingQueries returns nothing: the log's migrations create the stream's tables
// (events/migrations), and neither the publisher nor the subscriber is configured to initialize a schema.
func (s StreamSchema) SchemaInitializingQueries(wsql.SchemaInitializingQueriesParams) ([]wsql.Query, error) {
	return nil, nil
}

// InsertQuery inserts messages in the given order, which becomes their offset order.
func (s StreamSchema) InsertQuery(params wsql.InsertQueryParams) (wsql.Query, error) {
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
		var md []byte
		if len(msg.Metadata) > 0 {
			var err error
			if md, err = json.Marshal(msg.Metadata); err != nil {
				return wsql.Query{}, fmt.Errorf("marshal metadata of message %s: %w", msg.UUID, err)
			}
		}
		args = append(args, msg.UUID, []byte(msg.Payload), string(md), createdMs)
	}
	return wsql.Query{Query: b.String(), Args: args}, nil
}

func (s StreamSchema) batchSize() int {
	if s.BatchSize <= 0 {
		return 50
	}
	return s.BatchSize
}

// SelectQuery reads the next batch after the consumer group's acknowledged offset.
func (s StreamSchema) SelectQuery(params wsql.SelectQueryParams) (wsql.Query, error) {
	next, err := params.OffsetsAdapter.NextOffsetQuery(wsql.NextOffsetQueryParams{
		Topic:         params.Topic,
		ConsumerGroup: params.ConsumerGroup,
	})
	if err != nil {
		return wsql.Query{}, err
	}
	q := `SELECT "offset", uuid, payload, metadata FROM ` + s.MessagesTable(params.Topic) +
		` WHERE "offset" > (` + next.Query + `) ORDER BY "offset" ASC LIMIT ` + strconv.Itoa(s.batchSize())
	if s.Dialect != store.Postgres || s.StallTimeout <= 0 {
		return wsql.Query{Query: q, Args: next.Args}, nil
	}
	// A member that stops while it holds a batch (its node paused) holds its group's row lock, and with it every
	// other member of the group. The server ends such a transaction once it has sat idle for the StallTimeout
	// (set_config with is_local: this transaction only); the batch is then rolled back and another member
	// reads it. The setting is made by this, the transaction's first statement, before any event is handed to
	// a handler: a materialized CTE joined to the batch's rows is evaluated before the first row is returned.
	q = `WITH stall AS MATERIALIZED (SELECT set_config('idle_in_transaction_session_timeout', ?, true))
		SELECT "offset", uuid, payload, metadata FROM ` + s.MessagesTable(params.Topic) + `, stall` +
		` WHERE "offset" > (` + next.Query + `) ORDER BY "offset" ASC LIMIT ` + strconv.Itoa(s.batchSize())
	args := append([]any{strconv.FormatInt(s.StallTimeout.Milliseconds(), 10)}, next.Args...)
	return wsql.Query{Query: q, Args: args}, nil
}

// UnmarshalMessage turns a selected row into a watermill message. Its metadata carries the row's offset for
// the consumer (see Consumer.apply), which watermill does not hand over otherwise.
func (s StreamSchema) UnmarshalMessage(params wsql.UnmarshalMessageParams) (wsql.Row, error) {
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
	msg.Metadata.Set(offsetMetadata, strconv.FormatInt(r.Offset, 10))
	r.Msg = msg
	return r, nil
}

// SubscribeIsolationLevel is the dialect's default. SQLite transactions are serializable, and the store's
// connections begin read-write transactions IMMEDIATE, so a consumer holds the write lock from its SELECT to
// its offset commit and two consumers of one group cannot read the same offset. Postgres's default, READ
// COMMITTED, is what the group's row lock needs (see StreamOffsets.NextOffsetQuery): a member that waited for
// the lock reads the offset its predecessor committed, where a REPEATABLE READ transaction would fail with a
// serialization error instead.
func (s StreamSchema) SubscribeIsolationLevel() sql.IsolationLevel {
	return sql.LevelDefault
}

// StreamOffsets is watermill-sql's OffsetsAdapter for the stream, in either dialect: one row per consumer group
// with the last acknowledged offset.
//
// Two members of one group (on one node or on several) must never handle the same batch. On SQLite the
// subscriber's transaction holds the database's write lock from BEGIN IMMEDIATE, which is enough. On Postgres
// the member locks its group's row (SELECT … FOR UPDATE) in the statement that reads the batch, and holds it
// until the transaction that commits the new offset ends; the next member waits, then reads that offset.
type StreamOffsets struct {
	// Dialect is the database's; the zero value is SQLite.
	Dialect store.Dialect
}

// MessagesOffsetsTable returns the quoted offsets table name of a topic.
func (StreamOffsets) MessagesOffsetsTable(topic string) string {
	return `"watermill_offsets_` + topic + `"`
}

// SchemaInitializingQueries returns nothing: the log's migrations create the offsets table.
func (a StreamOffsets) SchemaInitializingQueries(wsql.OffsetsSchemaInitializingQueriesParams) ([]wsql.Query, error) {
	return nil, nil
}

// AckMessageQuery records the last handled offset of a batch.
func (a StreamOffsets) AckMessageQuery(params wsql.AckMessageQueryParams) (wsql.Query, error) {
	return wsql.Query{
		Query: `INSERT INTO ` + a.MessagesOffsetsTable(params.Topic) + ` (consumer_group, offset_acked) VALUES (?, ?)
			ON CONFLICT (consumer_group) DO UPDATE SET offset_acked = excluded.offset_acked`,
		Args: []any{params.ConsumerGroup, params.LastRow.Offset},
	}, nil
}

// NextOffsetQuery selects the group's last acknowledged offset (0 before its first ack). On Postgres it locks
// the group's row until the consumer's transaction ends (see the type's comment); the row exists from
// BeforeSubscribingQueries on. Under READ COMMITTED a member that waited for the lock gets the row as its
// holder committed it, so it reads after the batch the holder handled.
func (a StreamOffsets) NextOffsetQuery(params wsql.NextOffsetQueryParams) (wsql.Query, error) {
	lock := ""
	if a.Dialect == store.Postgres {
		lock = ` FOR UPDATE`
	}
	return wsql.Query{
		Query: `SELECT COALESCE((SELECT offset_acked FROM ` + a.MessagesOffsetsTable(params.Topic) +
			` WHERE consumer_group = ?` + lock + `), 0)`,
		Args: []any{params.ConsumerGroup},
	}, nil
}

// ConsumedMessageQuery is not needed: the group's lock (see the type's comment) already keeps members apart.
func (StreamOffsets) ConsumedMessageQuery(wsql.ConsumedMessageQueryParams) (wsql.Query, error) {
	return wsql.Query{}, nil
}

// BeforeSubscribingQueries registers the group with offset 0, so that it shows in lag metrics and holds back
// topic pruning from its first moment.
func (a StreamOffsets) BeforeSubscribingQueries(params wsql.BeforeSubscribingQueriesParams) ([]wsql.Query, error) {
	return []wsql.Query{{
		Query: `INSERT INTO ` + a.MessagesOffsetsTable(params.Topic) + ` (consumer_group, offset_acked) VALUES (?, 0)
			ON CONFLICT (consumer_group) DO NOTHING`,
		Args: []any{params.ConsumerGroup},
	}}, nil
}

var (
	_ wsql.SchemaAdapter  = StreamSchema{}
	_ wsql.OffsetsAdapter = StreamOffsets{}
)
