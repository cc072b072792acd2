using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Microscope.Coordinator.Data.SchemaMigrations
{
    /// <inheritdoc />
    public partial class Baseline : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "claim_units",
                columns: table => new
                {
                    claim_id = table.Column<string>(type: "text", nullable: false),
                    model = table.Column<string>(type: "text", nullable: false),
                    op = table.Column<string>(type: "text", nullable: false),
                    unit = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("claim_units_pkey", x => new { x.claim_id, x.model, x.op, x.unit });
                });

            migrationBuilder.CreateTable(
                name: "claims",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    author = table.Column<string>(type: "text", nullable: false),
                    text = table.Column<string>(type: "text", nullable: false),
                    created_at = table.Column<long>(type: "bigint", nullable: false),
                    updated_at = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("claims_pkey", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "inbox",
                columns: table => new
                {
                    message_id = table.Column<string>(type: "text", nullable: false),
                    consumer = table.Column<string>(type: "text", nullable: false),
                    received_at = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("inbox_pkey", x => new { x.message_id, x.consumer });
                });

            migrationBuilder.CreateTable(
                name: "models",
                columns: table => new
                {
                    name = table.Column<string>(type: "text", nullable: false),
                    version = table.Column<string>(type: "text", nullable: false),
                    descriptor_json = table.Column<string>(type: "text", nullable: false),
                    unit_count = table.Column<int>(type: "integer", nullable: false),
                    registered_at = table.Column<long>(type: "bigint", nullable: false),
                    source_json = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("models_pkey", x => new { x.name, x.version });
                });

            migrationBuilder.CreateTable(
                name: "packets",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    sweep_id = table.Column<string>(type: "text", nullable: false),
                    op = table.Column<string>(type: "text", nullable: false),
                    technique = table.Column<string>(type: "text", nullable: false),
                    priority = table.Column<int>(type: "integer", nullable: false),
                    seq = table.Column<int>(type: "integer", nullable: false),
                    state = table.Column<string>(type: "text", nullable: false),
                    unit_count = table.Column<int>(type: "integer", nullable: false),
                    dispatches = table.Column<int>(type: "integer", nullable: false),
                    starts = table.Column<int>(type: "integer", nullable: false, defaultValue: 0),
                    worker_id = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<long>(type: "bigint", nullable: false),
                    sent_at = table.Column<long>(type: "bigint", nullable: true),
                    heartbeat_at = table.Column<long>(type: "bigint", nullable: true),
                    steps_done = table.Column<int>(type: "integer", nullable: false, defaultValue: 0),
                    progress_at = table.Column<long>(type: "bigint", nullable: true),
                    finished_at = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("packets_pkey", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "results",
                columns: table => new
                {
                    model = table.Column<string>(type: "text", nullable: false),
                    version = table.Column<string>(type: "text", nullable: false),
                    op = table.Column<string>(type: "text", nullable: false),
                    unit = table.Column<int>(type: "integer", nullable: false),
                    technique = table.Column<string>(type: "text", nullable: false),
                    params_hash = table.Column<string>(type: "text", nullable: false),
                    image_key = table.Column<string>(type: "text", nullable: false),
                    record_key = table.Column<string>(type: "text", nullable: false),
                    objective_start = table.Column<double>(type: "double precision", nullable: false),
                    objective_end = table.Column<double>(type: "double precision", nullable: false),
                    ms_per_step = table.Column<double>(type: "double precision", nullable: false),
                    tuple_id = table.Column<string>(type: "text", nullable: false),
                    rendered_at = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("results_pkey", x => new { x.model, x.version, x.op, x.unit, x.technique, x.params_hash });
                });

            migrationBuilder.CreateTable(
                name: "sweeps",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    kind = table.Column<string>(type: "text", nullable: false),
                    state = table.Column<string>(type: "text", nullable: false),
                    model = table.Column<string>(type: "text", nullable: false),
                    version = table.Column<string>(type: "text", nullable: false),
                    ops_json = table.Column<string>(type: "text", nullable: false),
                    techniques_json = table.Column<string>(type: "text", nullable: false),
                    parameters_json = table.Column<string>(type: "text", nullable: false),
                    params_hash = table.Column<string>(type: "text", nullable: false),
                    force = table.Column<bool>(type: "boolean", nullable: false),
                    packet_size = table.Column<int>(type: "integer", nullable: false),
                    priority = table.Column<int>(type: "integer", nullable: false),
                    total = table.Column<int>(type: "integer", nullable: false),
                    reused = table.Column<int>(type: "integer", nullable: false),
                    created_at = table.Column<long>(type: "bigint", nullable: false),
                    finished_at = table.Column<long>(type: "bigint", nullable: true),
                    requester = table.Column<string>(type: "text", nullable: true),
                    idempotency_key = table.Column<string>(type: "text", nullable: true),
                    cost = table.Column<long>(type: "bigint", nullable: false, defaultValue: 0L)
                },
                constraints: table =>
                {
                    table.PrimaryKey("sweeps_pkey", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "tuples",
                columns: table => new
                {
                    id = table.Column<string>(type: "text", nullable: false),
                    sweep_id = table.Column<string>(type: "text", nullable: false),
                    packet_id = table.Column<string>(type: "text", nullable: true),
                    model = table.Column<string>(type: "text", nullable: false),
                    version = table.Column<string>(type: "text", nullable: false),
                    op = table.Column<string>(type: "text", nullable: false),
                    unit = table.Column<int>(type: "integer", nullable: false),
                    technique = table.Column<string>(type: "text", nullable: false),
                    params_hash = table.Column<string>(type: "text", nullable: false),
                    state = table.Column<string>(type: "text", nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    failure = table.Column<string>(type: "text", nullable: true),
                    image_key = table.Column<string>(type: "text", nullable: true),
                    record_key = table.Column<string>(type: "text", nullable: true),
                    objective_start = table.Column<double>(type: "double precision", nullable: true),
                    objective_end = table.Column<double>(type: "double precision", nullable: true),
                    ms_per_step = table.Column<double>(type: "double precision", nullable: true),
                    worker_id = table.Column<string>(type: "text", nullable: true),
                    reused = table.Column<bool>(type: "boolean", nullable: false),
                    updated_at = table.Column<long>(type: "bigint", nullable: false),
                    done_at = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("tuples_pkey", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "claim_units_unit",
                table: "claim_units",
                columns: new[] { "model", "op", "unit" });

            migrationBuilder.CreateIndex(
                name: "claims_created",
                table: "claims",
                column: "created_at");

            migrationBuilder.CreateIndex(
                name: "inbox_received",
                table: "inbox",
                column: "received_at");

            migrationBuilder.CreateIndex(
                name: "packets_finished",
                table: "packets",
                columns: new[] { "state", "finished_at" });

            migrationBuilder.CreateIndex(
                name: "packets_state",
                table: "packets",
                columns: new[] { "state", "priority" });

            migrationBuilder.CreateIndex(
                name: "packets_sweep",
                table: "packets",
                column: "sweep_id");

            migrationBuilder.CreateIndex(
                name: "sweeps_idempotency",
                table: "sweeps",
                columns: new[] { "requester", "idempotency_key" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "sweeps_requester",
                table: "sweeps",
                columns: new[] { "requester", "created_at" });

            migrationBuilder.CreateIndex(
                name: "tuples_identity",
                table: "tuples",
                columns: new[] { "sweep_id", "op", "unit", "technique" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "tuples_packet",
                table: "tuples",
                column: "packet_id");

            migrationBuilder.CreateIndex(
                name: "tuples_sweep_state",
                table: "tuples",
                columns: new[] { "sweep_id", "state" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "claim_units");

            migrationBuilder.DropTable(
                name: "claims");

            migrationBuilder.DropTable(
                name: "inbox");

            migrationBuilder.DropTable(
                name: "models");

            migrationBuilder.DropTable(
                name: "packets");

            migrationBuilder.DropTable(
                name: "results");

            migrationBuilder.DropTable(
                name: "sweeps");

            migrationBuilder.DropTable(
                name: "tuples");
        }
    }
}
