using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Microscope.Coordinator.Data.SchemaMigrations
{
    /// <inheritdoc />
    public partial class TuplesOpenIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "tuples_open",
                table: "tuples",
                columns: new[] { "state", "sweep_id" },
                filter: "state IN ('pending', 'queued', 'running')");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "tuples_open",
                table: "tuples");
        }
    }
}
