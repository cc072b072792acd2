using System.Text;
using Microsoft.EntityFrameworkCore;

namespace Microscope.Coordinator.Data;

public sealed class FarmDb(DbContextOptions<FarmDb> options) : DbContext(options)
{
    public DbSet<ModelRow> Models => Set<ModelRow>();
    public DbSet<SweepRow> Sweeps => Set<SweepRow>();
    public DbSet<PacketRow> Packets => Set<PacketRow>();
    public DbSet<TupleRow> Tuples => Set<TupleRow>();
    public DbSet<ResultRow> Results => Set<ResultRow>();
    public DbSet<InboxRow> Inbox => Set<InboxRow>();
    public DbSet<ClaimRow> Claims => Set<ClaimRow>();
    public DbSet<ClaimUnitRow> ClaimUnits => Set<ClaimUnitRow>();

    public bool IsSqlite => Database.ProviderName?.Contains("Sqlite", StringComparison.Ordinal) == true;

    /// <summary>The migrations are generated for PostgreSQL; on SQLite the model's provider
    /// types differ from their snapshot, which EF would report as changes without a
    /// migration and refuse to migrate. A model change without its migration is caught by
    /// SchemaMigrationTests (on the PostgreSQL model) instead.</summary>
    protected override void OnConfiguring(DbContextOptionsBuilder options) =>
        options.ConfigureWarnings(w => w.Ignore(Microsoft.EntityFrameworkCore.Diagnostics.RelationalEventId.PendingModelChangesWarning));

    protected override void ConfigureConventions(ModelConfigurationBuilder builder)
    {
        // Ids are stored as text on both databases, so hand-written SQL and bulk inserts
        // read and write them the same way ("text": the legacy schema's type, not EF's varchar(36)).
        builder.Properties<Guid>().HaveConversion<string>().HaveColumnType("text");
    }

    /// <summary>The schema as the hand-written migrations 1-5 made it (Migrations.Legacy):
    /// the EF migrations are generated from this model, so its keys, indexes (with their
    /// names) and column defaults are spelled out here.</summary>
    protected override void OnModelCreating(ModelBuilder b)
    {
        b.Entity<ModelRow>(e =>
        {
            e.ToTable("models").HasKey(m => new { m.Name, m.Version }).HasName("models_pkey");
        });
        b.Entity<SweepRow>(e =>
        {
            e.ToTable("sweeps").HasKey(s => s.Id).HasName("sweeps_pkey");
            e.Property(s => s.Cost).HasDefaultValue(0L);
            e.HasIndex(s => new { s.Requester, s.IdempotencyKey }, "sweeps_idempotency").IsUnique();
            e.HasIndex(s => new { s.Requester, s.CreatedAt }, "sweeps_requester");
        });
        b.Entity<PacketRow>(e =>
        {
            e.ToTable("packets").HasKey(p => p.Id).HasName("packets_pkey");
            e.Property(p => p.StepsDone).HasDefaultValue(0);
            e.Property(p => p.Starts).HasDefaultValue(0);
            e.HasIndex(p => new { p.State, p.Priority }, "packets_state");
            e.HasIndex(p => p.SweepId, "packets_sweep");
            e.HasIndex(p => new { p.State, p.FinishedAt }, "packets_finished");
        });
        b.Entity<TupleRow>(e =>
        {
            e.ToTable("tuples").HasKey(t => t.Id).HasName("tuples_pkey");
            e.HasIndex(t => new { t.SweepId, t.Op, t.Unit, t.Technique }, "tuples_identity").IsUnique();
            e.HasIndex(t => new { t.SweepId, t.State }, "tuples_sweep_state");
            e.HasIndex(t => t.PacketId, "tuples_packet");
            // The open tuples only (QueueSampler counts them by state and sweep every 5 s): a few
            // kB however many done tuples the table holds, where the other indexes lead with
            // sweep_id and left a full scan (docs/performance.md, "Coordinator: the queue sampler").
            e.HasIndex(t => new { t.State, t.SweepId }, "tuples_open")
                .HasFilter($"state IN ({string.Join(", ", TupleStates.Open.Select(s => $"'{s}'"))})");
        });
        b.Entity<InboxRow>(e =>
        {
            e.ToTable("inbox").HasKey(i => new { i.MessageId, i.Consumer }).HasName("inbox_pkey");
            e.HasIndex(i => i.ReceivedAt, "inbox_received");
        });
        b.Entity<ClaimRow>(e =>
        {
            e.ToTable("claims").HasKey(c => c.Id).HasName("claims_pkey");
            e.HasIndex(c => c.CreatedAt, "claims_created");
        });
        b.Entity<ClaimUnitRow>(e =>
        {
            e.ToTable("claim_units").HasKey(u => new { u.ClaimId, u.Model, u.Op, u.Unit }).HasName("claim_units_pkey");
            e.HasIndex(u => new { u.Model, u.Op, u.Unit }, "claim_units_unit");
        });
        b.Entity<ResultRow>(e =>
        {
            e.ToTable("results").HasKey(r => new { r.Model, r.Version, r.Op, r.Unit, r.Technique, r.ParamsHash }).HasName("results_pkey");
        });
        foreach (var entity in b.Model.GetEntityTypes())
            foreach (var property in entity.GetProperties())
                property.SetColumnName(SnakeCase(property.Name));
    }

    public static string SnakeCase(string name)
    {
        var s = new StringBuilder();
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0) s.Append('_');
            s.Append(char.ToLowerInvariant(name[i]));
        }
        return s.ToString();
    }
}
