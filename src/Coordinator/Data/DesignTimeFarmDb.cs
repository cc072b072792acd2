using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Microscope.Coordinator.Data;

/// <summary>What `dotnet ef migrations add` builds the model with: PostgreSQL, no connection
/// (generating a migration never connects). The migrations are written for PostgreSQL's
/// types (text, integer, bigint, boolean, double precision), which SQLite takes as they are,
/// so one set serves both (docs/farm.md, "Database and migrations").</summary>
public sealed class DesignTimeFarmDb : IDesignTimeDbContextFactory<FarmDb>
{
    public FarmDb CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<FarmDb>().UseNpgsql("Host=localhost;Database=design_time").Options);
}
